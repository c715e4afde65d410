using System.Text;
using Microsoft.Win32.SafeHandles;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Distributions;

/// <summary>
/// A wheel (PEP 427, PEP 491) installed into the image straight from the zip, without extraction.
/// <para>
/// <see cref="Open"/> checks the structure: the file name, exactly one <c>.dist-info</c> whose name
/// and version match it, WHEEL with Wheel-Version 1.x, METADATA naming the same project and version,
/// and a RECORD that lists every member (except RECORD and its signatures) with a sha256/384/512
/// hash and a size equal to the zip's; no member may escape its target directory. Each file's
/// hash is verified while the image writer streams it: a mismatch fails that read, naming the
/// wheel and the file.
/// </para>
/// <para>
/// Its files by scheme: root files as purelib (both purelib and platlib are the image's
/// site-packages, so Root-Is-Purelib changes nothing), <c>.data/&lt;scheme&gt;/</c> as that scheme,
/// headers below a directory named after the project (as pip installs them). Files the zip marks
/// executable get 0755, others 0644. The destination replaces <c>#!python</c> in scripts and
/// writes a new RECORD and INSTALLER = xar; signatures of the old RECORD are dropped.
/// </para>
/// </summary>
public sealed class WheelFile : Distribution
{
    private const int ExecutableMode = 0b111_101_101;
    private const int RegularMode = 0b110_100_100;
    private static readonly string[] RecordSignatures = ["RECORD.jws", "RECORD.p7s"];
    private static readonly string[] Schemes = ["purelib", "platlib", "scripts", "headers", "data"];

    private readonly ZipMembers _zip;
    private readonly Dictionary<string, ZipMember> _members;
    private readonly Dictionary<string, RecordEntry> _record;
    private readonly Lazy<EntryPointsFile> _entryPoints;
    private readonly Lazy<IReadOnlyList<DistributionFile>> _files;

    private WheelFile(string path, WheelFilename filename, ZipMembers zip, Dictionary<string, ZipMember> members,
        string distInfo, DistributionMetadata metadata, DistributionMetadata wheelInfo, Dictionary<string, RecordEntry> record)
    {
        Path = path;
        Filename = filename;
        _zip = zip;
        _members = members;
        DistInfoDirectory = distInfo;
        Metadata = metadata;
        WheelVersion = wheelInfo.Get("Wheel-Version")!;
        RootIsPurelib = string.Equals(wheelInfo.Get("Root-Is-Purelib")?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
        _record = record;
        _entryPoints = new(ReadEntryPoints);
        _files = new(BuildFiles);
    }

    /// <summary>The wheel file.</summary>
    public string Path { get; }

    public WheelFilename Filename { get; }

    /// <summary>The name of the wheel's <c>.dist-info</c> directory.</summary>
    public string DistInfoDirectory { get; }

    /// <summary>The WHEEL file's Wheel-Version ("1.0").</summary>
    public string WheelVersion { get; }

    /// <summary>Whether root files are purelib; both purelib and platlib go to <c>lib/python/</c>, so it changes nothing here.</summary>
    public bool RootIsPurelib { get; }

    public override string Name => Metadata.Name!;

    public override string VersionText => Metadata.VersionText!;

    public override DistributionMetadata Metadata { get; }

    public override EntryPointsFile EntryPoints => _entryPoints.Value;

    public override string Origin => Path;

    public override IReadOnlyList<string> Notes { get; } = [];

    /// <summary>
    /// Opens and checks a wheel, read through <paramref name="file"/> (an open descriptor of
    /// <paramref name="path"/>, which this takes over: the one <see cref="ArtifactHashes"/> checked)
    /// when given; throws <see cref="InvalidWheelException"/> naming the wheel and the problem.
    /// </summary>
    public static WheelFile Open(string path, SafeFileHandle? file = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = System.IO.Path.GetFullPath(path);
        WheelFilename filename;
        try
        {
            filename = WheelFilename.Parse(System.IO.Path.GetFileName(path));
        }
        catch (InvalidWheelFilenameException e)
        {
            file?.Dispose();
            throw new InvalidWheelException(path, e.Message, e);
        }

        ZipMembers zip;
        try
        {
            zip = ZipMembers.Open(path, file);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidWheelException(path, $"not a readable zip file: {e.Message}", e);
        }

        try
        {
            return Check(path, filename, zip);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            zip.Dispose();
            throw new InvalidWheelException(path, $"the zip file is corrupt: {e.Message}", e);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>Checks the wheel file that is read (not whatever its path names now) against <paramref name="expected"/>: <see cref="ArtifactHashes.Verify"/>.</summary>
    public void VerifyHashes(IReadOnlyList<(string Algorithm, string Hex)> expected) => ArtifactHashes.Verify(Path, _zip.File, expected);

    /// <summary>Throws <see cref="IncompatibleWheelException"/> unless the target supports one of the wheel's tags.</summary>
    public void EnsureCompatible(TargetInterpreter target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!target.Tags.IsCompatible(Filename)) throw new IncompatibleWheelException(Path, target.Description);
    }

    public override ShebangRewrite Shebangs => ShebangRewrite.WheelPlaceholder;

    /// <summary>A new RECORD for the installed paths and INSTALLER = xar, timed as METADATA.</summary>
    public override InstallRecord Record => new(DistInfoDirectory, RegularMode, _members[DistInfoDirectory + "/METADATA"].ModificationTime, WriteInstaller: true);

    public override IReadOnlyList<DistributionFile> GetFiles() => _files.Value;

    protected override IEnumerable<string> ReadRequirements() => Metadata.RequiresDist;

    protected override void Dispose(bool disposing)
    {
        if (disposing) _zip.Dispose();
        base.Dispose(disposing);
    }

    private static WheelFile Check(string path, WheelFilename filename, ZipMembers zip)
    {
        InvalidWheelException Invalid(string problem) => new(path, problem);

        var members = new Dictionary<string, ZipMember>(StringComparer.Ordinal);
        foreach (var member in zip.Members)
        {
            if (ArchiveMemberName.FindProblem(member.Name) is { } problem)
                throw Invalid($"member '{member.Name}' is refused: {problem}");
            if (!members.TryAdd(member.Name, member))
                throw Invalid($"member '{member.Name}' appears twice");
        }

        var distInfos = members.Keys
            .Where(name => name.Contains('/'))
            .Select(name => name[..name.IndexOf('/')])
            .Where(top => top.EndsWith(".dist-info", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        if (distInfos.Count != 1)
            throw Invalid(distInfos.Count == 0 ? "no .dist-info directory" : $"several .dist-info directories: {string.Join(", ", distInfos)}");
        string distInfo = distInfos[0];
        string stem = distInfo[..^".dist-info".Length];
        int dash = stem.LastIndexOf('-');
        if (dash <= 0
            || !DistributionName.AreEquivalent(stem[..dash], filename.Name)
            || !PythonVersion.TryParse(stem[(dash + 1)..], out var distInfoVersion)
            || distInfoVersion != filename.Version)
            throw Invalid($"the .dist-info directory {distInfo} does not match the file name (expected {filename.Name}-{filename.Version}.dist-info)");

        string recordPath = distInfo + "/RECORD";
        IReadOnlyList<RecordEntry> rows;
        try
        {
            rows = RecordFile.Parse(ReadText(zip, members, recordPath, Invalid));
        }
        catch (FormatException e)
        {
            throw Invalid($"{recordPath}: {e.Message}");
        }

        var record = new Dictionary<string, RecordEntry>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (ArchiveMemberName.FindProblem(row.Path) is { } problem)
                throw Invalid($"RECORD lists '{row.Path}', which is refused: {problem}");
            if (row.Path == recordPath || IsRecordSignature(distInfo, row.Path)) continue;
            if (!members.TryGetValue(row.Path, out var member) || member.IsDirectory)
                throw Invalid($"RECORD lists {row.Path}, which is not in the wheel");
            if (row.Hash is null)
                throw Invalid($"RECORD has no hash for {row.Path}");
            if (!row.Hash.IsAccepted)
                throw Invalid($"RECORD hashes {row.Path} with {row.Hash.Algorithm}; only {string.Join(", ", RecordHash.AcceptedAlgorithms)} are accepted");
            if (row.Size is { } size && size != member.Length)
                throw Invalid($"{row.Path} is {member.Length} bytes, RECORD says {size}");
            if (record.TryGetValue(row.Path, out var earlier) && earlier.Hash != row.Hash)
                throw Invalid($"RECORD lists {row.Path} twice with different hashes");
            // An empty member is never streamed, so its hash is checked here.
            if (member.Length == 0 && row.Hash.Value != EmptyHash(row.Hash))
                throw Invalid($"{row.Path} is empty, but RECORD's {row.Hash.Algorithm} is {row.Hash.Value}");
            record[row.Path] = row;
        }
        foreach (var member in members.Values)
        {
            if (member.IsDirectory || member.Name == recordPath || IsRecordSignature(distInfo, member.Name)) continue;
            if (!record.ContainsKey(member.Name))
                throw Invalid($"{member.Name} is not listed in RECORD");
        }

        // WHEEL and METADATA decide what happens next, so they are verified before they are believed.
        string ReadListed(string name)
        {
            if (!record.TryGetValue(name, out var row)) throw Invalid($"{name} is missing");
            return Encoding.UTF8.GetString(ReadVerified(path, zip, members[name], row));
        }

        var wheelInfo = DistributionMetadata.Parse(ReadListed(distInfo + "/WHEEL"));
        string wheelVersion = wheelInfo.Get("Wheel-Version")?.Trim() ?? throw Invalid($"{distInfo}/WHEEL has no Wheel-Version");
        if (wheelVersion.Split('.')[0] != "1")
            throw Invalid($"Wheel-Version {wheelVersion} is not supported (only 1.x)");

        var metadata = DistributionMetadata.Parse(ReadListed(distInfo + "/METADATA"));
        if (metadata.Name is not { } metadataName || !DistributionName.AreEquivalent(metadataName, filename.Name))
            throw Invalid($"{distInfo}/METADATA names project '{metadata.Name}', the file name says '{filename.Name}'");
        if (metadata.VersionText is not { } metadataVersion
            || !PythonVersion.TryParse(metadataVersion, out var version) || version != filename.Version)
            throw Invalid($"{distInfo}/METADATA says version '{metadata.VersionText}', the file name says '{filename.Version}'");

        return new WheelFile(path, filename, zip, members, distInfo, metadata, wheelInfo, record);
    }

    private static bool IsRecordSignature(string distInfo, string name) =>
        RecordSignatures.Any(s => name == distInfo + "/" + s);

    private static string EmptyHash(RecordHash hash)
    {
        using var hasher = hash.CreateHasher();
        return RecordHash.Encode(hasher.GetHashAndReset());
    }

    private static string ReadText(ZipMembers zip, Dictionary<string, ZipMember> members, string name, Func<string, InvalidWheelException> invalid)
    {
        if (!members.TryGetValue(name, out var member) || member.IsDirectory) throw invalid($"{name} is missing");
        return Encoding.UTF8.GetString(zip.ReadAll(name));
    }

    private static VerifyingStream OpenVerified(string path, ZipMembers zip, ZipMember member, RecordEntry row) =>
        new(zip.OpenRead(member.Name), row.Hash!, member.Length, problem => new InvalidWheelException(path, $"{member.Name}: {problem}"));

    private static byte[] ReadVerified(string path, ZipMembers zip, ZipMember member, RecordEntry row)
    {
        using var stream = OpenVerified(path, zip, member, row);
        var bytes = new byte[member.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private EntryPointsFile ReadEntryPoints()
    {
        string name = DistInfoDirectory + "/entry_points.txt";
        if (!_record.ContainsKey(name)) return EntryPointsFile.Parse("");
        try
        {
            return EntryPointsFile.Parse(Encoding.UTF8.GetString(ReadVerified(name)));
        }
        catch (InvalidEntryPointException e)
        {
            throw new InvalidWheelException(Path, $"{name}: {e.Message}", e);
        }
    }

    private List<DistributionFile> BuildFiles()
    {
        string dataDirectory = DistInfoDirectory[..^".dist-info".Length] + ".data/";
        var files = new List<DistributionFile>();
        var targets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, row) in _record.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var (scheme, path) = (InstallScheme.Purelib, name);
            if (name.StartsWith(dataDirectory, StringComparison.Ordinal))
            {
                string[] parts = name[dataDirectory.Length..].Split('/', 2);
                if (parts.Length < 2 || !Schemes.Contains(parts[0]))
                    throw new InvalidWheelException(Path, $"{name}: '{parts[0]}' is not a wheel data scheme ({string.Join(", ", Schemes)})");
                (scheme, path) = parts[0] switch
                {
                    "purelib" => (InstallScheme.Purelib, parts[1]),
                    "platlib" => (InstallScheme.Platlib, parts[1]),
                    "scripts" => (InstallScheme.Scripts, parts[1]),
                    "headers" => (InstallScheme.Headers, $"{Name}/{parts[1]}"),
                    _ => (InstallScheme.Data, parts[1]),
                };
            }
            string target = PythonImageLayout.PathOf(scheme, path);
            if (targets.TryGetValue(target, out string? other))
                throw new InvalidWheelException(Path, $"{name} and {other} both install to {target}");
            targets[target] = name;

            var member = _members[name];
            files.Add(DistributionFile.File(scheme, path, StreamedContent(name, member), member.IsExecutable ? ExecutableMode : RegularMode,
                member.ModificationTime, row.Hash, member.Length));
        }
        return files;
    }

    private FileContent StreamedContent(string name, ZipMember member) =>
        FileContent.FromStream(() => OpenVerified(name), member.Length, $"{Path}: {name}");

    private Stream OpenVerified(string name)
    {
        try
        {
            return OpenVerified(Path, _zip, _members[name], _record[name]);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new InvalidWheelException(Path, $"{name}: cannot be read: {e.Message}", e);
        }
    }

    private byte[] ReadVerified(string name)
    {
        using var stream = OpenVerified(name);
        var bytes = new byte[_members[name].Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
