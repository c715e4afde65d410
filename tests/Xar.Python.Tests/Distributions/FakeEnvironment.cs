using System.Security.Cryptography;
using System.Text;

namespace Xar.Python.Tests.Distributions;

/// <summary>An installed environment written by a test: PREFIX/lib/pythonX.Y/site-packages with distributions in it.</summary>
internal sealed class FakeEnvironment
{
    public FakeEnvironment(string prefix, string series = "3.11")
    {
        Prefix = prefix;
        Site = Path.Combine(prefix, "lib", "python" + series, "site-packages");
        Directory.CreateDirectory(Site);
    }

    public string Prefix { get; }

    public string Site { get; }

    public string Write(string siteRelative, string content, UnixFileMode? mode = null)
    {
        string path = Path.GetFullPath(Path.Combine(Site, siteRelative));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        if (mode is { } m) File.SetUnixFileMode(path, m);
        return path;
    }

    /// <summary>A .dist-info with METADATA, optional entry_points.txt, and a RECORD of every file given plus <paramref name="extraRows"/>.</summary>
    public string DistInfo(string name, string version, IDictionary<string, string> files, string[]? requires = null, string? entryPoints = null,
        string[]? extraRows = null, string? requiresPython = null, string? directUrl = null)
    {
        string distInfo = $"{name.Replace('-', '_')}-{version}.dist-info";
        var metadata = new StringBuilder($"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        if (requiresPython is not null) metadata.Append($"Requires-Python: {requiresPython}\n");
        foreach (string requirement in requires ?? []) metadata.Append($"Requires-Dist: {requirement}\n");
        var all = new Dictionary<string, string>(files) { [$"{distInfo}/METADATA"] = metadata.ToString(), [$"{distInfo}/INSTALLER"] = "pip\n" };
        if (entryPoints is not null) all[$"{distInfo}/entry_points.txt"] = entryPoints;
        if (directUrl is not null) all[$"{distInfo}/direct_url.json"] = directUrl;
        var record = new StringBuilder();
        foreach (var (path, content) in all)
        {
            Write(path, content);
            byte[] bytes = Encoding.UTF8.GetBytes(content);
            record.Append($"{path},sha256={Convert.ToBase64String(SHA256.HashData(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_')},{bytes.Length}\n");
        }
        foreach (string row in extraRows ?? []) record.Append(row).Append('\n');
        record.Append($"{distInfo}/RECORD,,\n");
        Write($"{distInfo}/RECORD", record.ToString());
        return Path.Combine(Site, distInfo);
    }

    /// <summary>An .egg-info directory with PKG-INFO and the given metadata files (requires.txt, top_level.txt, installed-files.txt…).</summary>
    public string EggInfo(string directoryName, string name, string version, IDictionary<string, string>? metadataFiles = null)
    {
        string eggInfo = Path.Combine(Site, directoryName);
        Directory.CreateDirectory(eggInfo);
        File.WriteAllText(Path.Combine(eggInfo, "PKG-INFO"), $"Metadata-Version: 1.2\nName: {name}\nVersion: {version}\n");
        foreach (var (file, content) in metadataFiles ?? new Dictionary<string, string>())
            File.WriteAllText(Path.Combine(eggInfo, file), content);
        return eggInfo;
    }
}
