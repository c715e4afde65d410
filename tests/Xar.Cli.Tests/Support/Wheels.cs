using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Xar.Cli.Tests.Support;

/// <summary>
/// A wheel (PEP 427) written by the test: its files, its metadata, and a RECORD with every
/// member's sha256 and size — unless the test edits RECORD or adds members it does not list.
/// </summary>
internal sealed record TestWheel
{
    public required string Name { get; init; }
    public string Version { get; init; } = "1.0";
    public string Tag { get; init; } = "py3-none-any";
    public IReadOnlyList<string> RequiresDist { get; init; } = [];

    /// <summary>entry_points.txt, or null for none.</summary>
    public string? EntryPoints { get; init; }

    /// <summary>Files outside the .dist-info: path in the zip → text.</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();

    /// <summary>Rewrites RECORD's rows (path, hash, size) before it is written.</summary>
    public Func<IReadOnlyList<string[]>, IEnumerable<string[]>>? EditRecord { get; init; }

    public string DistInfo => $"{Name}-{Version}.dist-info";

    public string FileName => $"{Name}-{Version}-{Tag}.whl";

    /// <summary>Writes the wheel into <paramref name="directory"/> and returns its path.</summary>
    public string WriteTo(string directory)
    {
        var members = new List<(string Path, byte[] Content)>();
        foreach (var (path, text) in Files)
            members.Add((path, Encoding.UTF8.GetBytes(text)));
        var metadata = new StringBuilder($"Metadata-Version: 2.1\nName: {Name}\nVersion: {Version}\n");
        foreach (string requirement in RequiresDist)
            metadata.Append($"Requires-Dist: {requirement}\n");
        members.Add(($"{DistInfo}/METADATA", Encoding.UTF8.GetBytes(metadata.ToString())));
        members.Add(($"{DistInfo}/WHEEL", Encoding.UTF8.GetBytes($"Wheel-Version: 1.0\nGenerator: xar-cli-tests\nRoot-Is-Purelib: true\nTag: {Tag}\n")));
        if (EntryPoints is not null)
            members.Add(($"{DistInfo}/entry_points.txt", Encoding.UTF8.GetBytes(EntryPoints)));

        IEnumerable<string[]> rows = members.Select(m => new[] { m.Path, "sha256=" + UrlSafeHash(m.Content), m.Content.Length.ToString() }).ToList();
        if (EditRecord is not null)
            rows = EditRecord(rows.ToList());
        string record = string.Concat(rows.Append([$"{DistInfo}/RECORD", "", ""]).Select(r => string.Join(',', r) + "\n"));
        members.Add(($"{DistInfo}/RECORD", Encoding.UTF8.GetBytes(record)));

        string wheel = Path.Combine(directory, FileName);
        Directory.CreateDirectory(directory);
        using var zip = ZipFile.Open(wheel, ZipArchiveMode.Create);
        foreach (var (path, content) in members)
        {
            using var stream = zip.CreateEntry(path).Open();
            stream.Write(content);
        }
        return wheel;
    }

    /// <summary>RECORD's hash encoding: urlsafe base64 without padding.</summary>
    public static string UrlSafeHash(byte[] content) =>
        Convert.ToBase64String(SHA256.HashData(content)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Virtual environments made with the interpreter's own `venv` and `pip`, offline.</summary>
internal static class VirtualEnvironment
{
    /// <summary>
    /// A venv that also sees its base interpreter's site-packages, with the given wheels
    /// installed by pip (no index, no dependencies: those come from the base).
    /// </summary>
    public static string CreateOnTopOf(string basePython, string directory, params string[] wheels)
    {
        Run.Checked(basePython, ["-m", "venv", "--system-site-packages", "--without-pip", directory]);
        string python = Path.Combine(directory, "bin", "python");
        // pip comes from the base; run by the venv's interpreter it installs into the venv.
        Run.Checked(python, ["-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--disable-pip-version-check", .. wheels]);
        return directory;
    }
}
