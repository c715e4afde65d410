using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Distributions;

/// <summary>How an installed distribution is laid out.</summary>
public enum InstalledFormat
{
    /// <summary><c>name-version.dist-info/</c> with METADATA and RECORD (pip, PEP 376).</summary>
    DistInfo,

    /// <summary><c>name-version.egg-info/</c> with PKG-INFO, and installed-files.txt when pip installed it (setuptools, Debian).</summary>
    EggInfo,

    /// <summary>distutils' <c>name-version.egg-info</c> file: PKG-INFO alone.</summary>
    EggInfoFile,

    /// <summary>An unzipped egg: <c>name-version-pyX.Y.egg/</c> with the code at its top and <c>EGG-INFO/</c>.</summary>
    EggDirectory,

    /// <summary>A zipped egg: the same inside one <c>.egg</c> zip file.</summary>
    ZippedEgg,

    /// <summary><c>name.egg-link</c>: a <c>setup.py develop</c> (editable) install pointing at its project.</summary>
    EggLink,
}

/// <summary>
/// A distribution installed in an <see cref="InstalledEnvironment"/>, as a source of files for a
/// <see cref="PythonImageDestination"/> (see <see cref="GetFiles"/>).
/// </summary>
public sealed partial class InstalledDistribution : Distribution
{
    private readonly InstalledEnvironment _environment;
    private readonly Lazy<EntryPointsFile> _entryPoints;
    private readonly List<string> _notes = [];
    private readonly Lock _zipLock = new();
    private readonly Lock _filesLock = new();
    private ZipMembers? _zip;
    private (IReadOnlyList<DistributionFile> Files, InstallRecord? Record)? _files;

    private InstalledDistribution(InstalledEnvironment environment, SiteDirectory site, InstalledFormat format, string metadataPath,
        DistributionMetadata metadata, string? editableSource)
    {
        _environment = environment;
        Site = site;
        Format = format;
        MetadataPath = metadataPath;
        Metadata = metadata;
        EditableSource = editableSource;
        Name = metadata.Name!;
        VersionText = metadata.VersionText!;
        _entryPoints = new(ReadEntryPoints);
    }

    public InstalledFormat Format { get; }

    /// <summary>The .dist-info or .egg-info directory (or file), the egg, or the .egg-link file.</summary>
    public string MetadataPath { get; }

    /// <summary>The site directory it is installed in.</summary>
    public string SiteDirectoryPath => Site.Path;

    /// <summary>For an editable install, the project directory it points at; null otherwise.</summary>
    public string? EditableSource { get; }

    public override string Name { get; }

    public override string VersionText { get; }

    public override DistributionMetadata Metadata { get; }

    public override EntryPointsFile EntryPoints => _entryPoints.Value;

    public override string Origin => MetadataPath;

    public override IReadOnlyList<string> Notes => _notes;

    internal SiteDirectory Site { get; }

    /// <summary>The distributions in one site directory, in the order of <see cref="InstalledEnvironment"/>'s precedence.</summary>
    internal static List<InstalledDistribution> FindIn(InstalledEnvironment environment, SiteDirectory site, List<string> notes)
    {
        var entries = Directory.EnumerateFileSystemEntries(site.Path).Order(StringComparer.Ordinal).ToList();
        var eggs = entries.Where(e => e.EndsWith(".egg", StringComparison.Ordinal)).ToList();
        foreach (string egg in EggsNamedByPthFiles(site.Path, entries))
            if (!eggs.Contains(egg)) eggs.Add(egg);

        var found = new List<InstalledDistribution>();
        void Add(string path, Func<InstalledDistribution> open)
        {
            try
            {
                found.Add(open());
            }
            catch (Exception e) when (e is InstalledDistributionException or IOException or UnauthorizedAccessException or InvalidDataException or JsonException)
            {
                notes.Add($"{path}: skipped, {e.Message}");
            }
        }
        foreach (string path in entries.Where(e => e.EndsWith(".dist-info", StringComparison.Ordinal) && Directory.Exists(e)))
            Add(path, () => OpenDistInfo(environment, site, path));
        foreach (string path in entries.Where(e => e.EndsWith(".egg-info", StringComparison.Ordinal)))
            Add(path, () => OpenEggInfo(environment, site, path));
        foreach (string path in eggs)
            Add(path, () => OpenEgg(environment, site, path));
        foreach (string path in entries.Where(e => e.EndsWith(".egg-link", StringComparison.Ordinal) && File.Exists(e)))
            Add(path, () => OpenEggLink(environment, site, path));
        return found;
    }

    /// <summary>An installed script names the build machine's interpreter.</summary>
    public override ShebangRewrite Shebangs => ShebangRewrite.AnyPython;

    /// <summary>A .dist-info's RECORD, written anew for what goes into the image; its INSTALLER is kept.</summary>
    public override InstallRecord? Record => FilesAndRecord().Record;

    public override IReadOnlyList<DistributionFile> GetFiles() => FilesAndRecord().Files;

    private (IReadOnlyList<DistributionFile> Files, InstallRecord? Record) FilesAndRecord()
    {
        if (EditableSource is not null)
            throw new InvalidOperationException($"{this} is an editable install of {EditableSource}; its files are not in {Site.Path}");
        lock (_filesLock)
            return _files ??= Format switch
            {
                InstalledFormat.EggDirectory => EggDirectoryFiles(),
                InstalledFormat.ZippedEgg => ZippedEggFiles(),
                _ => ListedFiles(),
            };
    }

    protected override IEnumerable<string> ReadRequirements()
    {
        if (Metadata.RequiresDist.Count > 0) return Metadata.RequiresDist;
        return ReadAuxiliary("requires.txt") is { } text ? EggMetadata.RequirementsFromRequiresTxt(text) : [];
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            lock (_zipLock)
            {
                _zip?.Dispose();
                _zip = null;
            }
        base.Dispose(disposing);
    }

    private static InstalledDistribution OpenDistInfo(InstalledEnvironment environment, SiteDirectory site, string path)
    {
        var metadata = ReadMetadataFile(Path.Combine(path, "METADATA"), path);
        return new InstalledDistribution(environment, site, InstalledFormat.DistInfo, path, metadata, FindEditableSource(path));
    }

    private static InstalledDistribution OpenEggInfo(InstalledEnvironment environment, SiteDirectory site, string path)
    {
        bool isFile = File.Exists(path);
        var metadata = ReadMetadataFile(isFile ? path : Path.Combine(path, "PKG-INFO"), path);
        return new InstalledDistribution(environment, site, isFile ? InstalledFormat.EggInfoFile : InstalledFormat.EggInfo, path, metadata, null);
    }

    private static InstalledDistribution OpenEgg(InstalledEnvironment environment, SiteDirectory site, string path)
    {
        if (Directory.Exists(path))
        {
            var metadata = ReadMetadataFile(Path.Combine(path, "EGG-INFO", "PKG-INFO"), path);
            return new InstalledDistribution(environment, site, InstalledFormat.EggDirectory, path, metadata, null);
        }
        using var archive = ZipFile.OpenRead(path);
        var entry = archive.GetEntry("EGG-INFO/PKG-INFO") ?? throw new InstalledDistributionException(path, "the egg has no EGG-INFO/PKG-INFO");
        using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
        var zipped = CheckMetadata(DistributionMetadata.Parse(reader.ReadToEnd()), path);
        return new InstalledDistribution(environment, site, InstalledFormat.ZippedEgg, path, zipped, null);
    }

    // An .egg-link holds the project directory, then the path from it to the directory holding
    // the .egg-info (usually ".").
    private static InstalledDistribution OpenEggLink(InstalledEnvironment environment, SiteDirectory site, string path)
    {
        var lines = File.ReadAllLines(path);
        string project = lines.Length > 0 ? lines[0].Trim() : "";
        if (project.Length == 0) throw new InstalledDistributionException(path, "the .egg-link names no project directory");
        string eggBase = Path.GetFullPath(Path.Combine(project, lines.Length > 1 ? lines[1].Trim() : "."));
        string name = Path.GetFileNameWithoutExtension(path);
        string? pkgInfo = Directory.Exists(eggBase)
            ? Directory.EnumerateDirectories(eggBase, "*.egg-info")
                .Where(d => DistributionName.AreEquivalent(ProjectPart(Path.GetFileName(d)[..^".egg-info".Length]), name))
                .Select(d => Path.Combine(d, "PKG-INFO")).FirstOrDefault(File.Exists)
            : null;
        var metadata = pkgInfo is not null
            ? ReadMetadataFile(pkgInfo, path)
            : DistributionMetadata.Parse($"Metadata-Version: 1.0\nName: {name}\nVersion: 0\n");
        return new InstalledDistribution(environment, site, InstalledFormat.EggLink, path, metadata, project);
    }

    // Egg names escape '-' in the project name as '_', so the project is what precedes the first '-'.
    private static string ProjectPart(string stem) => stem.Split('-')[0];

    private static DistributionMetadata ReadMetadataFile(string file, string distributionPath)
    {
        if (!File.Exists(file)) throw new InstalledDistributionException(distributionPath, $"{Path.GetFileName(file)} is missing");
        return CheckMetadata(DistributionMetadata.Parse(File.ReadAllText(file, Encoding.UTF8)), distributionPath);
    }

    private static DistributionMetadata CheckMetadata(DistributionMetadata metadata, string distributionPath)
    {
        if (string.IsNullOrWhiteSpace(metadata.Name)) throw new InstalledDistributionException(distributionPath, "the metadata has no Name");
        if (string.IsNullOrWhiteSpace(metadata.VersionText)) throw new InstalledDistributionException(distributionPath, "the metadata has no Version");
        return metadata;
    }

    // PEP 610: pip records an editable install's project in direct_url.json. Other frontends'
    // PEP 660 installs show as __editable__ files in RECORD.
    private static string? FindEditableSource(string distInfo)
    {
        string directUrl = Path.Combine(distInfo, "direct_url.json");
        if (File.Exists(directUrl))
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(directUrl));
            var root = document.RootElement;
            if (root.TryGetProperty("dir_info", out var dirInfo) && dirInfo.ValueKind == JsonValueKind.Object
                && dirInfo.TryGetProperty("editable", out var editable) && editable.ValueKind == JsonValueKind.True)
            {
                string url = root.TryGetProperty("url", out var u) ? u.GetString() ?? "" : "";
                return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.IsFile ? uri.LocalPath : url;
            }
        }
        string record = Path.Combine(distInfo, "RECORD");
        if (File.Exists(record))
        {
            var editableFile = RecordFile.Parse(File.ReadAllText(record, Encoding.UTF8))
                .Select(r => r.Path).FirstOrDefault(p => Path.GetFileName(p).StartsWith("__editable__", StringComparison.Ordinal));
            if (editableFile is not null)
                return $"the project that {Path.Combine(Path.GetDirectoryName(distInfo)!, editableFile)} points to";
        }
        return null;
    }

    // Lines of .pth files that name .egg paths (easy-install.pth); "import" lines are code, not paths.
    private static IEnumerable<string> EggsNamedByPthFiles(string site, IEnumerable<string> entries)
    {
        foreach (string pth in entries.Where(e => e.EndsWith(".pth", StringComparison.Ordinal) && File.Exists(e)))
            foreach (string rawLine in File.ReadLines(pth))
            {
                string line = rawLine.Trim();
                if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("import ", StringComparison.Ordinal) || line.StartsWith("import\t", StringComparison.Ordinal)) continue;
                if (!line.EndsWith(".egg", StringComparison.Ordinal)) continue;
                string egg = Path.GetFullPath(Path.Combine(site, line));
                if (File.Exists(egg) || Directory.Exists(egg)) yield return egg;
            }
    }

    /// <summary>A metadata file next to METADATA/PKG-INFO (requires.txt, entry_points.txt, top_level.txt…), or null.</summary>
    private string? ReadAuxiliary(string name)
    {
        switch (Format)
        {
            case InstalledFormat.DistInfo or InstalledFormat.EggInfo:
                return ReadIfExists(Path.Combine(MetadataPath, name));
            case InstalledFormat.EggDirectory:
                return ReadIfExists(Path.Combine(MetadataPath, "EGG-INFO", name));
            case InstalledFormat.ZippedEgg:
                var zip = Zip();
                return zip.Members.Any(m => m.Name == "EGG-INFO/" + name) ? Encoding.UTF8.GetString(zip.ReadAll("EGG-INFO/" + name)) : null;
            default:
                return null;
        }
    }

    private static string? ReadIfExists(string path) => File.Exists(path) ? File.ReadAllText(path, Encoding.UTF8) : null;

    private EntryPointsFile ReadEntryPoints()
    {
        string text = ReadAuxiliary("entry_points.txt") ?? "";
        try
        {
            return EntryPointsFile.Parse(text);
        }
        catch (InvalidEntryPointException e)
        {
            throw new InstalledDistributionException(MetadataPath, $"entry_points.txt: {e.Message}", e);
        }
    }

    private ZipMembers Zip()
    {
        lock (_zipLock)
        {
            if (_zip is not null) return _zip;
            try
            {
                return _zip = ZipMembers.Open(MetadataPath);
            }
            catch (InvalidDataException e)
            {
                throw new InstalledDistributionException(MetadataPath, $"the egg is not a readable zip file: {e.Message}", e);
            }
        }
    }
}
