using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.Python.Tests.Oracle;
using Xar.SquashFs.Writing;

namespace Xar.Python.Tests.Distributions;

/// <summary>Targets described by hand (no interpreter runs) and real pyenv ones.</summary>
internal static class Targets
{
    private static readonly Dictionary<string, Lazy<TargetInterpreter>> Probed = [];

    /// <summary>CPython 3.<paramref name="minor"/> on x86_64 Linux with glibc 2.36.</summary>
    public static TargetInterpreter CPython(int minor = 11, string machine = "x86_64")
    {
        var facts = new InterpreterFacts
        {
            Implementation = "cpython",
            MajorVersion = 3,
            MinorVersion = minor,
            Platform = "linux-" + machine,
            OperatingSystem = "Linux",
            Glibc = new LibcVersion(2, 36),
            Executable = new ElfHeaderFacts(true, true, 62, 0, "/lib64/ld-linux-x86-64.so.2"),
        };
        var markers = new MarkerEnvironment
        {
            OsName = "posix",
            SysPlatform = "linux",
            PlatformMachine = machine,
            PlatformPythonImplementation = "CPython",
            PlatformRelease = "6.1.0",
            PlatformSystem = "Linux",
            PlatformVersion = "#1 SMP",
            PythonVersion = $"3.{minor}",
            PythonFullVersion = $"3.{minor}.7",
            ImplementationName = "cpython",
            ImplementationVersion = $"3.{minor}.7",
        };
        return new TargetInterpreter($"test cpython 3.{minor} ({machine})", markers, CompatibilityTags.ForInterpreter(facts));
    }

    /// <summary>A pyenv interpreter, probed once per test run.</summary>
    public static TargetInterpreter Pyenv(string series)
    {
        Lazy<TargetInterpreter> lazy;
        lock (Probed)
            if (!Probed.TryGetValue(series, out lazy!))
                Probed[series] = lazy = new(() => TargetInterpreter.Probe(Oracle.Pyenv.Python(series)));
        return lazy.Value;
    }
}

/// <summary>A wheel written as a zip file by the test, with every part open to corruption.</summary>
internal sealed class TestWheel
{
    public string Name { get; init; } = "demo";
    public string Version { get; init; } = "1.0";
    public string Tag { get; init; } = "py3-none-any";
    public string? BuildTag { get; init; }
    public string WheelVersion { get; init; } = "1.0";
    public List<string> RequiresDist { get; init; } = [];
    public List<string> ProvidesExtra { get; init; } = [];
    public string? RequiresPython { get; init; }
    public string? EntryPoints { get; init; }

    /// <summary>Files of the wheel other than its .dist-info metadata: path → (content, Unix mode or null for none).</summary>
    public List<(string Path, byte[] Content, int? Mode)> Files { get; init; } = [];

    /// <summary>Changes RECORD's rows before it is written.</summary>
    public Func<List<string[]>, List<string[]>>? EditRecord { get; init; }

    /// <summary>Members added after RECORD is computed (so not listed in it).</summary>
    public List<(string Path, byte[] Content)> Unlisted { get; init; } = [];

    public string? DistInfoName { get; init; }
    public bool WithoutRecord { get; init; }
    public bool WithoutWheelFile { get; init; }
    public string? MetadataOverride { get; init; }

    public string EscapedName => Name.Replace('-', '_').Replace('.', '_');
    public string DistInfo => DistInfoName ?? $"{EscapedName}-{Version}.dist-info";
    public string FileName => $"{EscapedName}-{Version}{(BuildTag is null ? "" : "-" + BuildTag)}-{Tag}.whl";

    public TestWheel With(string path, string content, int? mode = null)
    {
        Files.Add((path, Encoding.UTF8.GetBytes(content), mode));
        return this;
    }

    public string Metadata()
    {
        if (MetadataOverride is not null) return MetadataOverride;
        var text = new StringBuilder($"Metadata-Version: 2.1\nName: {Name}\nVersion: {Version}\n");
        if (RequiresPython is not null) text.Append($"Requires-Python: {RequiresPython}\n");
        foreach (string extra in ProvidesExtra) text.Append($"Provides-Extra: {extra}\n");
        foreach (string requirement in RequiresDist) text.Append($"Requires-Dist: {requirement}\n");
        return text.ToString();
    }

    public string WriteTo(string directory)
    {
        var members = new List<(string Path, byte[] Content, int? Mode)>(Files)
        {
            ($"{DistInfo}/METADATA", Encoding.UTF8.GetBytes(Metadata()), null),
        };
        if (!WithoutWheelFile)
            members.Add(($"{DistInfo}/WHEEL", Encoding.UTF8.GetBytes($"Wheel-Version: {WheelVersion}\nGenerator: test\nRoot-Is-Purelib: true\nTag: {Tag}\n"), null));
        if (EntryPoints is not null) members.Add(($"{DistInfo}/entry_points.txt", Encoding.UTF8.GetBytes(EntryPoints), null));
        var rows = members.Select(m => new[] { m.Path, "sha256=" + Hash(m.Content), m.Content.Length.ToString() }).ToList();
        rows.Add([$"{DistInfo}/RECORD", "", ""]);
        if (EditRecord is not null) rows = EditRecord(rows);
        if (!WithoutRecord)
            members.Add(($"{DistInfo}/RECORD", Encoding.UTF8.GetBytes(string.Concat(rows.Select(r => string.Join(",", r) + "\n"))), null));
        members.AddRange(Unlisted.Select(u => (u.Path, u.Content, (int?)null)));

        string path = System.IO.Path.Combine(directory, FileName);
        WriteZip(path, members);
        return path;
    }

    public static string Hash(byte[] content) =>
        Convert.ToBase64String(SHA256.HashData(content)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static void WriteZip(string path, IEnumerable<(string Path, byte[] Content, int? Mode)> members)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        foreach (var (name, content, mode) in members)
        {
            var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
            entry.LastWriteTime = new DateTimeOffset(2024, 5, 6, 7, 8, 10, TimeSpan.Zero);
            if (mode is { } m) entry.ExternalAttributes = (0x8000 | m) << 16;
            using var stream = entry.Open();
            stream.Write(content);
        }
    }
}

internal static class EntryContents
{
    public static byte[] Read(ImageEntry entry)
    {
        using var stream = entry.Content!.OpenRead();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public static string Text(ImageEntry entry) => Encoding.UTF8.GetString(Read(entry));

    public static ImageEntry At(this IEnumerable<ImageEntry> entries, string path) =>
        entries.SingleOrDefault(e => e.Path == path) ?? throw new KeyNotFoundException($"no entry {path} among: {string.Join(", ", entries.Select(e => e.Path))}");
}

/// <summary>Writes entries into a SquashFS image with the real writer and extracts it with the real reader.</summary>
internal static class ImageRoundTrip
{
    public static void Extract(IEnumerable<ImageEntry> entries, string imagePath, string destination)
    {
        var writer = new SquashFsWriter(new SquashFsWriterOptions { Threads = 2 });
        foreach (var entry in entries) writer.Add(entry);
        writer.WriteToFile(imagePath);
        using var image = Xar.SquashFs.Reading.SquashFsImage.Open(imagePath);
        image.ExtractTo(destination);
    }

    /// <summary>
    /// Runs <paramref name="python"/> isolated (-I -S) with the extracted <c>lib/python</c> as its
    /// only site directory, as the archive bootstrap does, and returns what the program prints.
    /// </summary>
    public static string RunPython(string python, string root, string program) =>
        PythonProcess.Run(python, ["-I", "-S", "-c", $"import site, sys; site.addsitedir(sys.argv[1] + '/lib/python')\n{program}", root]);
}

/// <summary>
/// Build outputs (wheels, eggs) kept in the temporary directory under a name derived from
/// everything that went into them, so later test runs reuse them instead of leaving one copy per
/// run behind. A run builds into a directory of its own and renames it into place when complete.
/// </summary>
internal static class BuildCache
{
    public static string For(string kind, IEnumerable<KeyValuePair<string, string>> inputs, Action<string> build)
    {
        var key = new StringBuilder();
        foreach (var (name, value) in inputs.OrderBy(i => i.Key, StringComparer.Ordinal)) key.Append(name).Append('\0').Append(value).Append('\0');
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..16].ToLowerInvariant();
        string final = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"xar-pydist-{kind}-{hash}");
        if (File.Exists(System.IO.Path.Combine(final, ".complete"))) return final;

        string work = Directory.CreateTempSubdirectory($"xar-pydist-{kind}-building-").FullName;
        try
        {
            build(work);
            File.WriteAllText(System.IO.Path.Combine(work, ".complete"), "");
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(work, final);
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
        return final;
    }
}
