using System.Security.Cryptography;
using System.Text;
using Xar.SquashFs.Writing;

namespace Xar.Python.Distributions;

/// <summary>
/// The image a Python archive installs its sources into (docs/python-distributions.md): it maps
/// each source's scheme paths into the image (<see cref="PythonImageLayout"/>), replaces the
/// shebangs of scripts, writes the RECORD that lists what it installed — with the hash of each
/// file as written — and INSTALLER, and refuses two sources writing different things to one path.
/// </summary>
public sealed class PythonImageDestination
{
    private const int ExecutableMode = 0b111_101_101;
    private static readonly byte[] Installer = "xar\n"u8.ToArray();

    private readonly Dictionary<string, ImageEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IDistributionSource> _owners = new(StringComparer.Ordinal);
    private readonly List<string> _conflicts = [];

    /// <summary>The source each image path comes from (the first one, for files several install identically).</summary>
    public IReadOnlyDictionary<string, IDistributionSource> Owners => _owners;

    /// <summary>
    /// Installs a source's files. Two entries at one path are fine when they are the same
    /// (identical bytes, or symlinks with the same target), as the <c>__init__.py</c> every portion
    /// of a pkg_resources-style namespace package ships; anything else is a conflict that
    /// <see cref="Complete"/> reports.
    /// </summary>
    public void Install(IDistributionSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var record = source.Record;
        string? installerPath = record is { WriteInstaller: true } ? $"{record.Directory}/INSTALLER" : null;
        var rows = new List<RecordEntry>();
        foreach (var file in source.GetFiles())
        {
            if (file.Scheme is InstallScheme.Purelib or InstallScheme.Platlib && file.Path == installerPath)
                continue; // a wheel's own INSTALLER: this install is xar's
            var (entry, row) = Place(source, file);
            Add(source, entry);
            rows.Add(row);
        }
        if (record is null) return;

        string directory = $"{PythonImageLayout.SitePackages}/{record.Directory}";
        if (record.WriteInstaller)
        {
            Add(source, ImageEntry.File($"{directory}/INSTALLER", FileContent.FromBytes(Installer), record.Mode, record.ModificationTime));
            rows.Add(new RecordEntry($"{record.Directory}/INSTALLER", RecordHash.Sha256(Installer), Installer.Length));
        }
        rows.Add(new RecordEntry($"{record.Directory}/RECORD", null, null));
        byte[] text = Encoding.UTF8.GetBytes(RecordFile.Format(rows));
        Add(source, ImageEntry.File($"{directory}/RECORD", FileContent.FromBytes(text), record.Mode, record.ModificationTime));
    }

    /// <summary>The image entries, one per path, ordered by path (ordinal).</summary>
    /// <exception cref="ConflictingFilesException">Sources clash: different files at one path, or a file where another needs a directory.</exception>
    public IReadOnlyList<ImageEntry> Complete()
    {
        var conflicts = new List<string>(_conflicts);
        foreach (string path in _entries.Keys)
            for (int slash = path.IndexOf('/'); slash > 0; slash = path.IndexOf('/', slash + 1))
                if (_entries.TryGetValue(path[..slash], out var blocking) && blocking.Type != ImageEntryType.Directory)
                    conflicts.Add($"{path[..slash]}: a {blocking.Type.ToString().ToLowerInvariant()} from {_owners[path[..slash]]}, but {_owners[path]} puts {path} inside it");
        if (conflicts.Count > 0) throw new ConflictingFilesException(conflicts.Distinct().ToArray());
        return _entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The image entry of a source file, and its RECORD row (relative to the site-packages directory).</summary>
    private static (ImageEntry Entry, RecordEntry Row) Place(IDistributionSource source, DistributionFile file)
    {
        string path = PythonImageLayout.PathOf(file.Scheme, file.Path);
        string recordPath = PythonImageLayout.FromSitePackages(path);
        if (file.Type == ImageEntryType.Symlink)
            return (ImageEntry.Symlink(path, file.LinkTarget!, file.ModificationTime), new RecordEntry(recordPath, null, null));
        if (file.Type != ImageEntryType.File)
            throw new ArgumentException($"{source.Origin}: {file.Path} is a {file.Type}, not a file or symlink", nameof(source));

        if (file.Scheme != InstallScheme.Scripts)
            return (ImageEntry.File(path, file.Content!, file.Mode, file.ModificationTime), new RecordEntry(recordPath, file.Hash, file.Size));
        int mode = file.Mode | ExecutableMode;
        if (PortableScript(source.Shebangs, file.Content!) is { } script)
            return (ImageEntry.File(path, FileContent.FromBytes(script), mode, file.ModificationTime), new RecordEntry(recordPath, RecordHash.Sha256(script), script.Length));
        return (ImageEntry.File(path, file.Content!, mode, file.ModificationTime), new RecordEntry(recordPath, file.Hash, file.Size));
    }

    /// <summary>The script with a portable shebang, or null when the rule leaves it as it is.</summary>
    private static byte[]? PortableScript(ShebangRewrite rule, FileContent content)
    {
        if (rule == ShebangRewrite.WheelPlaceholder)
        {
            if (content.Length < ScriptShebang.WheelMarkerLength) return null;
            Span<byte> start = stackalloc byte[ScriptShebang.WheelMarkerLength];
            using (var stream = content.OpenRead())
                stream.ReadExactly(start);
            return ScriptShebang.IsWheelMarker(start) ? ScriptShebang.ReplaceFirstLine(ReadAll(content)) : null;
        }
        return ScriptShebang.MakePortable(ReadAll(content));
    }

    private void Add(IDistributionSource source, ImageEntry entry)
    {
        if (_entries.TryGetValue(entry.Path, out var existing))
        {
            if (!AreSame(existing, entry))
                _conflicts.Add($"{entry.Path}: from {_owners[entry.Path]} ({_owners[entry.Path].Origin}) and {source} ({source.Origin})");
            return;
        }
        _entries[entry.Path] = entry;
        _owners[entry.Path] = source;
    }

    private static bool AreSame(ImageEntry a, ImageEntry b)
    {
        if (a.Type != b.Type) return false;
        return a.Type switch
        {
            ImageEntryType.Symlink => a.LinkTarget == b.LinkTarget,
            ImageEntryType.Directory => true,
            ImageEntryType.File => a.Content!.Length == b.Content!.Length && Hash(a.Content).SequenceEqual(Hash(b.Content)),
            _ => false,
        };
    }

    private static byte[] Hash(FileContent content)
    {
        using var stream = content.OpenRead();
        return SHA256.HashData(stream);
    }

    private static byte[] ReadAll(FileContent content)
    {
        using var stream = content.OpenRead();
        var bytes = new byte[content.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
