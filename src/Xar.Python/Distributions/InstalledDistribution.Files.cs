using System.Text;
using System.Text.RegularExpressions;
using Xar.SquashFs.Writing;

namespace Xar.Python.Distributions;

/// <summary>
/// Which files an installed distribution has, and where they go in the image.
/// <list type="bullet">
/// <item>Files: RECORD (.dist-info); installed-files.txt (.egg-info installed by pip); in a conda
/// environment, the conda-meta record of the package that installed the metadata; otherwise a
/// guess from top_level.txt (each top-level package directory, module and <c>-stubs</c>
/// directory, and for a namespace package — namespace_packages.txt, or a directory without
/// <c>__init__.py</c> that the project name extends — only the portions SOURCES.txt or the
/// project name point to; plus the <c>-nspkg.pth</c> named after the .egg-info). Other .pth files
/// of such a distribution cannot be told from anyone else's and are left out. The metadata
/// directory itself always goes in.</item>
/// <item>Paths inside a site directory are purelib, except <c>__pycache__</c> (the builder
/// compiles its own bytecode). Outside, relative to the environment prefix: <c>bin/NAME</c> is a
/// console-script wrapper generated for the build machine when NAME is one of the distribution's
/// console or GUI scripts, and is skipped (the bootstrap runs entry points); other <c>bin/</c>
/// files are legacy scripts (the destination makes a Python shebang <c>#!/usr/bin/env python3</c>);
/// <c>include/[site/]pythonX.Y/…</c> and other <c>include/…</c> are the headers <c>…</c>; anything
/// else is data (where a wheel's data scheme goes). Paths outside the prefix, and
/// listed files that do not exist (Debian's RECORDs name build directories), are skipped with a note.</item>
/// <item>Symlinks inside the site directory stay symlinks, dangling ones too; an absolute target
/// there becomes relative. Symlinks leaving it are replaced by what they point to (a file, or a
/// directory's tree) unless that is missing, a loop or not readable by everyone. Data Debian moved
/// to PREFIX/share (matplotlib's mpl-data) is put back in the package. Files keep their
/// permission bits (without setuid/setgid/sticky) and modification time.</item>
/// <item>A .dist-info's RECORD is left to the destination to write for what went into the image
/// (the hashes it gives are kept); installed-files.txt is kept as is.</item>
/// <item>Eggs are flattened into <c>lib/python/</c> (zipped ones streamed from the zip):
/// importing from there works as from the egg on sys.path, without a .pth or zipimport, and
/// native extensions load directly instead of being extracted to a cache by pkg_resources.
/// <c>EGG-INFO/</c> becomes <c>&lt;egg name&gt;.egg-info/</c> with a generated
/// installed-files.txt, so importlib.metadata still finds the distribution and its files;
/// <c>EGG-INFO/scripts/</c> are scripts.</item>
/// </list>
/// </summary>
public sealed partial class InstalledDistribution
{
    private const int ExecutableMode = 0b111_101_101;
    private const int RegularMode = 0b110_100_100;
    private const int PermissionBits = 0b111_111_111;
    private const int NoteExamples = 5;

    /// <summary>Known data directories of a distribution (normalized name) kept in PREFIX/share instead of the package (see <see cref="AddRelocatedData"/>).</summary>
    private static readonly (string Distribution, string SitePath, string PrefixPath)[] RelocatedData =
    [
        ("matplotlib", "matplotlib/mpl-data", "share/matplotlib/mpl-data"),
    ];

    [GeneratedRegex(@"^include/(?:site/)?python[^/]*/(.+)$")]
    private static partial Regex HeaderPath();

    private (List<DistributionFile>, InstallRecord?) ListedFiles()
    {
        var collector = new Collector(this);
        string? record = Format == InstalledFormat.DistInfo ? ReadIfExists(Path.Combine(MetadataPath, "RECORD")) : null;
        string installedFiles = Path.Combine(MetadataPath, "installed-files.txt");
        if (record is not null)
        {
            IReadOnlyList<RecordEntry> rows;
            try
            {
                rows = RecordFile.Parse(record);
            }
            catch (FormatException e)
            {
                throw new InstalledDistributionException(Path.Combine(MetadataPath, "RECORD"), e.Message, e);
            }
            foreach (var row in rows)
                AddInstalledFile(collector, Path.GetFullPath(Path.Combine(Site.Path, row.Path)), row);
        }
        else if (Format == InstalledFormat.EggInfo && File.Exists(installedFiles))
        {
            foreach (string line in EggMetadata.LinesOfFile(installedFiles))
                AddInstalledFile(collector, Path.GetFullPath(Path.Combine(MetadataPath, line)), null);
        }
        else if (CondaPackageFiles() is { } conda)
        {
            _notes.Add($"no file list in its metadata; took the files of {conda.RecordPath}");
            foreach (string file in conda.Files)
                AddInstalledFile(collector, Path.GetFullPath(Path.Combine(_environment.Path, file)), null);
        }
        else
        {
            foreach (string file in GuessedFiles())
                AddInstalledFile(collector, file, null);
        }

        AddRelocatedData(collector);
        if (Format == InstalledFormat.EggInfoFile) AddInstalledFile(collector, MetadataPath, null);
        else foreach (string file in Walk(MetadataPath)) AddInstalledFile(collector, file, null);

        // The destination writes RECORD anew, with the mode and time of the old one.
        var installRecord = record is not null && collector.Remove($"{Path.GetFileName(MetadataPath)}/RECORD") is { } old
            ? new InstallRecord(Path.GetFileName(MetadataPath), old.Mode, old.ModificationTime, WriteInstaller: false)
            : null;
        collector.WriteNotes();
        return (collector.Files, installRecord);
    }

    private void AddInstalledFile(Collector collector, string absolute, RecordEntry? row)
    {
        foreach (var site in _environment.Sites.Prepend(Site))
        {
            if (!IsInside(absolute, site.Path, out string relative)) continue;
            if (!IsBytecodeCache(relative)) collector.AddPath(absolute, InstallScheme.Purelib, relative, row);
            return;
        }
        if (Site.Prefix is { } prefix && IsInside(absolute, prefix, out string prefixRelative))
        {
            if (prefixRelative.StartsWith("bin/", StringComparison.Ordinal))
            {
                string name = prefixRelative["bin/".Length..];
                if (EntryPoints.ConsoleScripts.Concat(EntryPoints.GuiScripts).Any(e => e.Name == name))
                    collector.Wrappers.Add(prefixRelative);
                else
                    collector.AddPath(absolute, InstallScheme.Scripts, name, row);
                return;
            }
            var header = HeaderPath().Match(prefixRelative);
            var (scheme, path) = header.Success ? (InstallScheme.Headers, header.Groups[1].Value)
                : prefixRelative.StartsWith("include/", StringComparison.Ordinal) ? (InstallScheme.Headers, prefixRelative["include/".Length..])
                : (InstallScheme.Data, prefixRelative);
            collector.AddPath(absolute, scheme, path, row);
            return;
        }
        collector.Outside.Add(absolute);
    }

    /// <summary>
    /// Puts back data Debian moved out of a package into PREFIX/share, where the package then finds
    /// it by that absolute path when its own copy is missing (matplotlib's get_data_path): the
    /// host that runs the archive may not have it, so the image gets it where the code looks first.
    /// </summary>
    private void AddRelocatedData(Collector collector)
    {
        if (Site.Prefix is not { } prefix) return;
        foreach (var (name, sitePath, prefixPath) in RelocatedData)
        {
            string source = Path.Combine(prefix, prefixPath);
            if (NormalizedName != name || Path.Exists(Path.Combine(Site.Path, sitePath)) || !Directory.Exists(source)) continue;
            _notes.Add($"took {source} as {sitePath} (its package keeps it outside the site directory)");
            collector.AddDirectory(source, InstallScheme.Purelib, sitePath);
        }
    }

    private CondaPackage? CondaPackageFiles()
    {
        if (_environment.CondaMeta is not { } conda) return null;
        string metadataFile = Format switch
        {
            InstalledFormat.DistInfo => Path.Combine(MetadataPath, "METADATA"),
            InstalledFormat.EggInfo => Path.Combine(MetadataPath, "PKG-INFO"),
            _ => MetadataPath,
        };
        return conda.OwnerOf(Path.GetRelativePath(_environment.Path, metadataFile).Replace('\\', '/'));
    }

    private List<string> GuessedFiles()
    {
        var topLevel = EggMetadata.Lines(ReadAuxiliary("top_level.txt") ?? "");
        if (topLevel.Count == 0)
        {
            topLevel = [Name.Replace('-', '_')];
            _notes.Add($"no file list and no top_level.txt; guessed the top-level module '{topLevel[0]}'");
        }
        else
        {
            _notes.Add($"no file list; took the files of its top-level names {string.Join(", ", topLevel)} (top_level.txt)");
        }
        var guess = new TopLevelGuess(
            this,
            EggMetadata.Lines(ReadAuxiliary("namespace_packages.txt") ?? "").ToHashSet(StringComparer.Ordinal),
            EggMetadata.Lines(ReadAuxiliary("SOURCES.txt") ?? ""));
        // setuptools names the .pth of an old-style namespace package after the .egg-info.
        string namespacePth = MetadataPath[..^".egg-info".Length] + "-nspkg.pth";
        if (Format == InstalledFormat.EggInfo && File.Exists(namespacePth)) guess.Files.Add(namespacePth);
        foreach (string name in topLevel)
        {
            string[] nameParts = Name.Split('.');
            var remaining = nameParts.Length > 1 && string.Equals(nameParts[0], name, StringComparison.OrdinalIgnoreCase)
                ? nameParts[1..].Select(p => p.Replace('-', '_')).ToArray()
                : [];
            if (!guess.Include(name.Replace('.', '/'), name, remaining))
                _notes.Add($"top-level name '{name}' matches no file in {Site.Path}");
        }
        return guess.Files;
    }

    private (List<DistributionFile>, InstallRecord?) EggDirectoryFiles()
    {
        var collector = new Collector(this);
        string eggInfo = EggInfoDirectoryName();
        var installedFiles = new List<string>();
        foreach (string file in Walk(MetadataPath))
        {
            string relative = Path.GetRelativePath(MetadataPath, file).Replace('\\', '/');
            if (PlaceEggMember(relative, eggInfo, installedFiles) is not var (scheme, path)) continue;
            collector.AddPath(file, scheme, path, null);
        }
        AddInstalledFilesList(collector, eggInfo, installedFiles, Directory.GetLastWriteTimeUtc(MetadataPath));
        collector.WriteNotes();
        return (collector.Files, null);
    }

    private (List<DistributionFile>, InstallRecord?) ZippedEggFiles()
    {
        var collector = new Collector(this);
        string eggInfo = EggInfoDirectoryName();
        var installedFiles = new List<string>();
        var zip = Zip();
        foreach (var member in zip.Members)
        {
            if (ArchiveMemberName.FindProblem(member.Name) is { } problem)
                throw new InstalledDistributionException(MetadataPath, $"member '{member.Name}' is refused: {problem}");
            if (member.IsDirectory || PlaceEggMember(member.Name, eggInfo, installedFiles) is not var (scheme, path)) continue;
            string name = member.Name;
            Func<string, Exception> fail = problem => new InstalledDistributionException(MetadataPath, $"{name}: {problem}");
            var content = FileContent.FromStream(() => new VerifyingStream(Zip().OpenRead(name), null, member.Length, fail), member.Length, $"{MetadataPath}: {name}");
            collector.AddContent(scheme, path, content, member.IsExecutable ? ExecutableMode : RegularMode, member.ModificationTime);
        }
        long time = zip.Members.FirstOrDefault(m => m.Name == "EGG-INFO/PKG-INFO")?.ModificationTime ?? 0;
        AddInstalledFilesList(collector, eggInfo, installedFiles, DateTimeOffset.FromUnixTimeSeconds(time).UtcDateTime);
        collector.WriteNotes();
        return (collector.Files, null);
    }

    // foo-1.0-py3.11.egg → foo-1.0-py3.11.egg-info: the name setuptools gives an egg's metadata
    // when installed unzipped, and one importlib.metadata finds by project name.
    private string EggInfoDirectoryName() => Path.GetFileName(MetadataPath)[..^".egg".Length] + ".egg-info";

    private static (InstallScheme Scheme, string Path)? PlaceEggMember(string relative, string eggInfo, List<string> installedFiles)
    {
        if (IsBytecodeCache(relative)) return null;
        if (relative.StartsWith("EGG-INFO/scripts/", StringComparison.Ordinal))
            return (InstallScheme.Scripts, relative["EGG-INFO/scripts/".Length..]);
        if (relative.StartsWith("EGG-INFO/", StringComparison.Ordinal))
        {
            string inside = relative["EGG-INFO/".Length..];
            installedFiles.Add(inside);
            return (InstallScheme.Purelib, $"{eggInfo}/{inside}");
        }
        installedFiles.Add("../" + relative);
        return (InstallScheme.Purelib, relative);
    }

    private static void AddInstalledFilesList(Collector collector, string eggInfo, List<string> installedFiles, DateTime time)
    {
        if (installedFiles.Contains("installed-files.txt")) return;
        installedFiles.Add("installed-files.txt");
        byte[] text = Encoding.UTF8.GetBytes(string.Join("\n", installedFiles) + "\n");
        collector.AddContent(InstallScheme.Purelib, $"{eggInfo}/installed-files.txt", FileContent.FromBytes(text), RegularMode,
            new DateTimeOffset(time, TimeSpan.Zero).ToUnixTimeSeconds());
    }

    private static bool IsInside(string path, string directory, out string relative)
    {
        relative = "";
        if (!path.StartsWith(directory + "/", StringComparison.Ordinal)) return false;
        relative = path[(directory.Length + 1)..];
        return true;
    }

    private static bool IsBytecodeCache(string relative) => relative.Split('/').Contains("__pycache__");

    /// <summary>The files and symlinks under a directory, without following symlinked directories or entering <c>__pycache__</c>.</summary>
    private static IEnumerable<string> Walk(string directory)
    {
        if (!Directory.Exists(directory)) yield break;
        foreach (string entry in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(entry);
            if (info.LinkTarget is null && Directory.Exists(entry))
            {
                if (Path.GetFileName(entry) == "__pycache__") continue;
                foreach (string inner in Walk(entry)) yield return inner;
            }
            else
            {
                yield return entry;
            }
        }
    }

    /// <summary>The files of one distribution: one per image path, with what its RECORD says of them, and what it skipped.</summary>
    private sealed class Collector(InstalledDistribution distribution)
    {
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
        private readonly List<string> _missing = [];
        private readonly List<string> _keptLinks = [];
        private readonly List<string> _copiedLinks = [];
        private readonly List<string> _unreadable = [];
        private readonly HashSet<string> _copying = new(StringComparer.Ordinal);

        public List<DistributionFile> Files { get; } = [];
        public List<string> Wrappers { get; } = [];
        public List<string> Outside { get; } = [];

        /// <param name="copiedFrom">The real directory being copied in place of a symlink to it, when <paramref name="absolute"/> is inside one.</param>
        public void AddPath(string absolute, InstallScheme scheme, string path, RecordEntry? row, string? copiedFrom = null)
        {
            if (_index.ContainsKey(PythonImageLayout.PathOf(scheme, path))) return;
            var info = new FileInfo(absolute);
            if (info.LinkTarget is { } linkTarget)
            {
                string directory = Path.GetDirectoryName(absolute)!;
                string pointed = Path.GetFullPath(linkTarget, directory);
                if (IsInside(pointed, distribution.Site.Path, out _) || (copiedFrom is not null && IsInside(pointed, copiedFrom, out _)))
                {
                    // Stays inside the image: a symlink still, relative so that it holds wherever the image is.
                    if (Path.IsPathRooted(linkTarget)) linkTarget = Path.GetRelativePath(directory, linkTarget);
                    Add(DistributionFile.Symlink(scheme, path, linkTarget, Seconds(info.LastWriteTimeUtc)));
                    return;
                }
                // Leaves the site (Debian's links into /usr/share): the image gets what it points to,
                // since the host that runs the archive may not have it.
                if (Copy(absolute, scheme, path, row)) return;
                _keptLinks.Add($"{PythonImageLayout.PathOf(scheme, path)} -> {linkTarget}");
                Add(DistributionFile.Symlink(scheme, path, linkTarget, Seconds(info.LastWriteTimeUtc)));
                return;
            }
            if (Directory.Exists(absolute)) return;
            if (!info.Exists)
            {
                _missing.Add(absolute);
                return;
            }
            if (copiedFrom is not null && !IsReadableByEveryone(info.UnixFileMode, isDirectory: false))
            {
                _unreadable.Add(absolute);
                return;
            }
            Add(DistributionFile.File(scheme, path, FileContent.FromFile(absolute), (int)info.UnixFileMode & PermissionBits, Seconds(info.LastWriteTimeUtc), row?.Hash, row?.Size));
        }

        /// <summary>
        /// Puts the content of the directory <paramref name="source"/> at <paramref name="path"/>:
        /// its files, its symlinks that stay inside it as symlinks, those that leave it copied in turn.
        /// </summary>
        public void AddDirectory(string source, InstallScheme scheme, string path)
        {
            if (!_copying.Add(source)) return; // a symlink loop
            foreach (string file in Walk(source))
                AddPath(file, scheme, $"{path}/{Path.GetRelativePath(source, file)}", null, copiedFrom: source);
            _copying.Remove(source);
        }

        /// <summary>
        /// Adds what the symlink <paramref name="link"/> finally points to in its place; false when
        /// it dangles, loops or points to something not everyone may read (the archive would hand a
        /// private file to anyone who runs it).
        /// </summary>
        private bool Copy(string link, InstallScheme scheme, string path, RecordEntry? row)
        {
            string real = RealPath.Of(link);
            if (real == link || _copying.Contains(real)) return false;
            bool isDirectory = Directory.Exists(real);
            if (!isDirectory && !File.Exists(real)) return false;
            var mode = isDirectory ? new DirectoryInfo(real).UnixFileMode : new FileInfo(real).UnixFileMode;
            if (!IsReadableByEveryone(mode, isDirectory))
            {
                _unreadable.Add(real);
                return false;
            }
            _copiedLinks.Add($"{PythonImageLayout.PathOf(scheme, path)} -> {real}");
            if (isDirectory) AddDirectory(real, scheme, path);
            else AddPath(real, scheme, path, row, copiedFrom: Path.GetDirectoryName(real));
            return true;
        }

        private static bool IsReadableByEveryone(UnixFileMode mode, bool isDirectory) =>
            mode.HasFlag(UnixFileMode.OtherRead) && (!isDirectory || mode.HasFlag(UnixFileMode.OtherExecute));

        public void AddContent(InstallScheme scheme, string path, FileContent content, int mode, long time)
        {
            if (!_index.ContainsKey(PythonImageLayout.PathOf(scheme, path))) Add(DistributionFile.File(scheme, path, content, mode, time));
        }

        /// <summary>Takes out the purelib file at <paramref name="path"/>; null when there is none.</summary>
        public DistributionFile? Remove(string path)
        {
            if (!_index.Remove(PythonImageLayout.PathOf(InstallScheme.Purelib, path), out int index)) return null;
            var file = Files[index];
            Files.RemoveAt(index);
            foreach (var (key, later) in _index.Where(i => i.Value > index).ToArray()) _index[key] = later - 1;
            return file;
        }

        public void WriteNotes()
        {
            Note(Wrappers, "skipped console-script wrappers made for the build machine (the archive runs entry points itself)");
            Note(Outside, "skipped files outside the environment");
            Note(_missing, "skipped files its file list names but that do not exist");
            Note(_copiedLinks, "stored the content of symlinks leaving the site directory");
            Note(_keptLinks, "kept symlinks leaving the site directory whose targets are missing or not readable by everyone");
            Note(_unreadable, "left out files not readable by everyone that symlinks lead to");
        }

        private void Note(List<string> items, string what)
        {
            if (items.Count == 0) return;
            string examples = string.Join(", ", items.Take(NoteExamples)) + (items.Count > NoteExamples ? $", and {items.Count - NoteExamples} more" : "");
            distribution._notes.Add($"{what}: {examples}");
        }

        private void Add(DistributionFile file)
        {
            _index[PythonImageLayout.PathOf(file.Scheme, file.Path)] = Files.Count;
            Files.Add(file);
        }

        private static long Seconds(DateTime utc) => new DateTimeOffset(utc, TimeSpan.Zero).ToUnixTimeSeconds();
    }

    /// <summary>The files top_level.txt points to (see the class summary).</summary>
    private sealed class TopLevelGuess(InstalledDistribution distribution, HashSet<string> namespaces, IReadOnlyList<string> sources)
    {
        public List<string> Files { get; } = [];

        /// <param name="relative">The package's path under the site directory (<c>lazr</c>, <c>lazr/uri</c>).</param>
        /// <param name="dotted">Its dotted name (<c>lazr.uri</c>).</param>
        /// <param name="remainingName">What the project name says below it (<c>lazr.uri</c> under <c>lazr</c>: <c>uri</c>).</param>
        /// <returns>Whether anything was found.</returns>
        public bool Include(string relative, string dotted, IReadOnlyList<string> remainingName)
        {
            string site = distribution.Site.Path;
            string directory = Path.Combine(site, relative);
            bool found = false;
            if (Directory.Exists(directory))
            {
                bool isNamespace = namespaces.Contains(dotted) || (!File.Exists(Path.Combine(directory, "__init__.py")) && remainingName.Count > 0);
                if (isNamespace && IncludePortions(relative, dotted, remainingName)) return true;
                if (isNamespace)
                    distribution._notes.Add($"cannot tell which part of the namespace package '{dotted}' is its own; took all of {directory}");
                Files.AddRange(Walk(directory));
                found = true;
            }
            var modules = ModuleFiles(Path.GetDirectoryName(directory)!, Path.GetFileName(directory)).ToList();
            Files.AddRange(modules);
            // PEP 561 stubs shipped beside the package (apt_pkg-stubs/ for apt_pkg).
            string stubs = directory + "-stubs";
            if (Directory.Exists(stubs)) Files.AddRange(Walk(stubs));
            return found || modules.Count > 0;
        }

        private bool IncludePortions(string relative, string dotted, IReadOnlyList<string> remainingName)
        {
            string directory = Path.Combine(distribution.Site.Path, relative);
            var portions = PortionsFromSources(relative);
            if (portions.Count == 0 && remainingName.Count > 0) portions = [remainingName[0]];
            portions = portions.Where(p => Directory.Exists(Path.Combine(directory, p)) || ModuleFiles(directory, p).Any()).ToList();
            if (portions.Count == 0) return false;
            // A pkg_resources-style namespace has an __init__.py every portion ships identically.
            string init = Path.Combine(directory, "__init__.py");
            if (File.Exists(init)) Files.Add(init);
            foreach (string portion in portions)
            {
                var below = remainingName.Count > 0 && remainingName[0] == portion ? remainingName.Skip(1).ToArray() : [];
                Include(relative + "/" + portion, dotted + "." + portion, below);
            }
            return true;
        }

        // SOURCES.txt paths are relative to the project (src/lazr/uri/_uri.py): the component after
        // the namespace's own components names a portion.
        private List<string> PortionsFromSources(string relative)
        {
            string[] namespaceParts = relative.Split('/');
            var portions = new List<string>();
            foreach (string source in sources)
            {
                string[] parts = source.Split('/');
                for (int i = 0; i + namespaceParts.Length < parts.Length; i++)
                {
                    if (!parts.AsSpan(i, namespaceParts.Length).SequenceEqual(namespaceParts)) continue;
                    string next = parts[i + namespaceParts.Length];
                    bool isLast = i + namespaceParts.Length == parts.Length - 1;
                    string? portion = !isLast ? next : next.EndsWith(".py", StringComparison.Ordinal) ? next[..^3] : null;
                    if (portion is not null && portion != "__init__" && !portions.Contains(portion)) portions.Add(portion);
                    break;
                }
            }
            return portions;
        }

        // A module's files: name.py, and extension modules name.so / name.<tag>.so.
        private static IEnumerable<string> ModuleFiles(string directory, string name)
        {
            if (!Directory.Exists(directory)) return [];
            return Directory.EnumerateFiles(directory, name + ".*")
                .Where(f =>
                {
                    string file = Path.GetFileName(f);
                    return file == name + ".py" || file.EndsWith(".so", StringComparison.Ordinal);
                })
                .Order(StringComparer.Ordinal);
        }
    }
}
