using System.Text.RegularExpressions;
using Xar.Python.Standards;

namespace Xar.Python.Distributions;

/// <summary>What kind of directory an <see cref="InstalledEnvironment"/> was opened from.</summary>
public enum EnvironmentKind
{
    /// <summary>A venv or virtualenv: <c>pyvenv.cfg</c>, <c>lib/pythonX.Y/site-packages</c>.</summary>
    VirtualEnvironment,

    /// <summary>A conda environment: <c>conda-meta/</c>, <c>lib/pythonX.Y/site-packages</c>.</summary>
    CondaEnvironment,

    /// <summary>An interpreter's installation prefix (pyenv version, /usr/local, a python-build-standalone tree).</summary>
    Prefix,

    /// <summary>A site-packages or dist-packages directory by itself.</summary>
    SiteDirectory,
}

/// <summary>
/// The distributions installed in a venv, conda environment, interpreter prefix or bare
/// site-packages/dist-packages directory, found as importlib.metadata finds them: <c>.dist-info</c>
/// and <c>.egg-info</c> directories (and distutils' single-file <c>.egg-info</c>), <c>.egg</c>
/// directories and zipped eggs in the site directory or named by its <c>.pth</c> files, and
/// <c>.egg-link</c> files of <c>setup.py develop</c>. When two carry the same name the first
/// wins: site directories in order, and within one, .dist-info, .egg-info, .egg, .egg-link.
/// </summary>
public sealed partial class InstalledEnvironment
{
    [GeneratedRegex(@"^python(\d+)\.(\d+)t?$")]
    private static partial Regex VersionedLibDirectory();

    private readonly Lazy<(IReadOnlyList<InstalledDistribution> All, Dictionary<string, InstalledDistribution> ByName, IReadOnlyList<string> Notes)> _distributions;
    private readonly Lazy<CondaMeta?> _condaMeta;

    private InstalledEnvironment(string path, EnvironmentKind kind, IReadOnlyList<SiteDirectory> siteDirectories, string? interpreter)
    {
        Path = path;
        Kind = kind;
        Sites = siteDirectories;
        Interpreter = interpreter;
        _distributions = new(FindDistributions);
        _condaMeta = new(() => kind == EnvironmentKind.CondaEnvironment ? CondaMeta.Read(System.IO.Path.Combine(path, "conda-meta")) : null);
    }

    /// <summary>The directory the environment was opened from (absolute).</summary>
    public string Path { get; }

    public EnvironmentKind Kind { get; }

    /// <summary>The site directories searched, in order (a venv with system site-packages has its base's after its own).</summary>
    public IReadOnlyList<string> SiteDirectories => Sites.Select(s => s.Path).ToArray();

    /// <summary>The environment's own interpreter (<c>bin/python</c>) when it has one: the default target.</summary>
    public string? Interpreter { get; }

    /// <summary>Every distribution found, first of each name, in discovery order.</summary>
    public IReadOnlyList<InstalledDistribution> Distributions => _distributions.Value.All;

    /// <summary>Shadowed duplicates and unreadable entries met while looking.</summary>
    public IReadOnlyList<string> Notes => _distributions.Value.Notes;

    internal IReadOnlyList<SiteDirectory> Sites { get; }

    internal CondaMeta? CondaMeta => _condaMeta.Value;

    /// <summary>Recognizes the layout at <paramref name="path"/>; throws <see cref="InstalledDistributionException"/> when it is none of the known ones.</summary>
    public static InstalledEnvironment Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));
        if (!Directory.Exists(path)) throw new InstalledDistributionException(path, "no such directory");

        string config = System.IO.Path.Combine(path, "pyvenv.cfg");
        if (File.Exists(config))
        {
            var own = PrefixSiteDirectories(path, required: true);
            var sites = new List<SiteDirectory>(own);
            var settings = ReadVenvConfig(config);
            if (settings.TryGetValue("include-system-site-packages", out string? include) && include.Equals("true", StringComparison.OrdinalIgnoreCase)
                && settings.TryGetValue("home", out string? home))
            {
                string basePrefix = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(home))!;
                foreach (var site in SystemSiteDirectories(basePrefix, own[0].Series))
                    if (!sites.Any(s => s.Path == site.Path)) sites.Add(site);
            }
            return new InstalledEnvironment(path, EnvironmentKind.VirtualEnvironment, sites, FindInterpreter(path, own[0].Series));
        }
        if (Directory.Exists(System.IO.Path.Combine(path, "conda-meta")))
        {
            var sites = PrefixSiteDirectories(path, required: true);
            return new InstalledEnvironment(path, EnvironmentKind.CondaEnvironment, sites, FindInterpreter(path, sites[0].Series));
        }
        var prefixSites = PrefixSiteDirectories(path, required: false);
        if (prefixSites.Count > 0)
            return new InstalledEnvironment(path, EnvironmentKind.Prefix, prefixSites, FindInterpreter(path, prefixSites[0].Series));
        if (DebianPrefix(path) is { } debian)
            return debian;
        if (LooksLikeSiteDirectory(path))
        {
            var site = SiteDirectory.At(path);
            string? interpreter = site.Prefix is { } prefix ? FindInterpreter(prefix, site.Series) : null;
            return new InstalledEnvironment(path, EnvironmentKind.SiteDirectory, [site], interpreter);
        }
        throw new InstalledDistributionException(path,
            "not a virtual environment (pyvenv.cfg), conda environment (conda-meta), Python prefix (lib/pythonX.Y/site-packages, or Debian's lib/python3/dist-packages) or site-packages directory");
    }

    /// <summary>The first distribution of that name (any spelling), or null.</summary>
    public InstalledDistribution? Find(string name) => _distributions.Value.ByName.GetValueOrDefault(DistributionName.Normalize(name));

    /// <summary>
    /// The distributions <paramref name="requirements"/> need, with the closure of their
    /// requirements (extras honoured, markers evaluated for <paramref name="target"/>). Throws
    /// <see cref="DistributionResolutionException"/> listing every requirement that is not
    /// installed, whose installed version does not satisfy it, whose distribution is an editable
    /// install or whose Requires-Python excludes the target; and when the site directory belongs to
    /// another Python version than the target.
    /// </summary>
    public DistributionBundle Resolve(IEnumerable<Requirement> requirements, TargetInterpreter target)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(target);
        var resolver = new DependencyResolver($"{Path} for {target.Description}", target.Markers, (name, _) => Choose(name, target), "is installed");
        var resolution = resolver.Resolve(requirements);
        return DistributionBundle.Create(resolution, []);
    }

    internal Choice Choose(string name, TargetInterpreter target)
    {
        string targetSeries = $"{target.Version.Release[0]}.{(target.Version.Release.Count > 1 ? target.Version.Release[1] : 0)}";
        if (Find(name) is not { } distribution)
            return Choice.Unavailable($"not installed in {Path}");
        if (distribution.EditableSource is { } source)
            return new Choice(distribution,
                $"{distribution} is an editable install of {source}; editable installs are not supported, build that project instead (xar build {source})");
        if (distribution.Site.Series is { } series && series != targetSeries)
            return new Choice(distribution, $"{distribution} is installed for Python {series} ({distribution.Site.Path}), the target is Python {targetSeries}");
        if (distribution.RequiresPython is { } requiresPython && !requiresPython.Contains(target.Version, prereleases: true))
            return new Choice(distribution, $"{distribution} requires Python '{requiresPython}', the target is {target.Version}");
        return new Choice(distribution, null);
    }

    private (IReadOnlyList<InstalledDistribution>, Dictionary<string, InstalledDistribution>, IReadOnlyList<string>) FindDistributions()
    {
        var found = new List<InstalledDistribution>();
        var byName = new Dictionary<string, InstalledDistribution>(StringComparer.Ordinal);
        var notes = new List<string>();
        foreach (var site in Sites)
        {
            foreach (var distribution in InstalledDistribution.FindIn(this, site, notes))
            {
                if (byName.TryGetValue(distribution.NormalizedName, out var earlier))
                {
                    notes.Add($"{distribution.Origin}: {distribution} is shadowed by {earlier.Origin}");
                    continue;
                }
                byName[distribution.NormalizedName] = distribution;
                found.Add(distribution);
            }
        }
        return (found, byName, notes);
    }

    private static bool LooksLikeSiteDirectory(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        if (name is "site-packages" or "dist-packages") return true;
        return Directory.EnumerateFileSystemEntries(path).Any(entry =>
            entry.EndsWith(".dist-info", StringComparison.Ordinal) || entry.EndsWith(".egg-info", StringComparison.Ordinal)
            || entry.EndsWith(".egg", StringComparison.Ordinal));
    }

    // lib/pythonX.Y/site-packages (and lib64's when it is a different directory). Several Python
    // versions under one prefix: the one whose bin/pythonX.Y exists, if only one does.
    private static List<SiteDirectory> PrefixSiteDirectories(string prefix, bool required)
    {
        var candidates = new List<(string Series, List<SiteDirectory> Sites)>();
        foreach (string lib in new[] { "lib", "lib64" })
        {
            string libPath = System.IO.Path.Combine(prefix, lib);
            if (!Directory.Exists(libPath)) continue;
            foreach (string versionDirectory in Directory.EnumerateDirectories(libPath).Order(StringComparer.Ordinal))
            {
                var match = VersionedLibDirectory().Match(System.IO.Path.GetFileName(versionDirectory));
                string site = System.IO.Path.Combine(versionDirectory, "site-packages");
                if (!match.Success || !Directory.Exists(site)) continue;
                string series = $"{match.Groups[1].Value}.{match.Groups[2].Value}";
                var entry = candidates.FirstOrDefault(c => c.Series == series);
                if (entry.Sites is null) candidates.Add(entry = (series, []));
                if (!entry.Sites.Any(s => SameDirectory(s.Path, site))) entry.Sites.Add(SiteDirectory.At(site));
            }
        }
        if (candidates.Count > 1)
        {
            var withInterpreter = candidates.Where(c => File.Exists(System.IO.Path.Combine(prefix, "bin", "python" + c.Series))).ToList();
            if (withInterpreter.Count != 1)
                throw new InstalledDistributionException(prefix,
                    $"site-packages for several Python versions ({string.Join(", ", candidates.Select(c => c.Series))}) and no single bin/pythonX.Y to choose one");
            candidates = withInterpreter;
        }
        if (candidates.Count == 0)
        {
            if (required) throw new InstalledDistributionException(prefix, "no lib/pythonX.Y/site-packages directory");
            return [];
        }
        return candidates[0].Sites;
    }

    /// <summary>
    /// Debian's layout (<c>--from-env /usr</c>): the packages of every python3.X of the prefix in
    /// lib/python3/dist-packages, pip's in local/lib/python3.X/dist-packages, no site-packages. The
    /// interpreter is the one bin/python3.X whose standard library (lib/python3.X) is there; with
    /// several, the error names the paths to give instead. Null when the layout is not Debian's.
    /// </summary>
    private static InstalledEnvironment? DebianPrefix(string prefix)
    {
        string shared = System.IO.Path.Combine(prefix, "lib", "python3", "dist-packages");
        string bin = System.IO.Path.Combine(prefix, "bin");
        if (!Directory.Exists(shared) || !Directory.Exists(bin))
            return null;
        var series = Directory.EnumerateFiles(bin, "python3.*")
            .Select(file => VersionedInterpreter().Match(System.IO.Path.GetFileName(file)))
            .Where(match => match.Success && Directory.Exists(System.IO.Path.Combine(prefix, "lib", "python" + match.Groups[1].Value)))
            .Select(match => match.Groups[1].Value)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (series.Count == 0)
            return null;
        if (series.Count > 1)
            throw new InstalledDistributionException(prefix,
                $"{shared} is shared by several interpreters ({string.Join(", ", series.Select(s => "python" + s))}); give it with the one to use: "
                + $"--from-env {shared} --python {System.IO.Path.Combine(bin, "python" + series[^1])}");
        var sites = SystemSiteDirectories(prefix, series[0]).ToList();
        return new InstalledEnvironment(prefix, EnvironmentKind.Prefix, sites, System.IO.Path.Combine(bin, "python" + series[0]));
    }

    [GeneratedRegex(@"^python(3\.[0-9]+)$")]
    private static partial Regex VersionedInterpreter();

    // Where a base interpreter keeps its site-packages: its own scheme, Debian's dist-packages.
    private static IEnumerable<SiteDirectory> SystemSiteDirectories(string prefix, string? series)
    {
        var candidates = new List<string>();
        if (series is not null)
        {
            candidates.Add(System.IO.Path.Combine(prefix, "local", "lib", "python" + series, "dist-packages"));
            candidates.Add(System.IO.Path.Combine(prefix, "lib", "python" + series, "site-packages"));
            candidates.Add(System.IO.Path.Combine(prefix, "lib64", "python" + series, "site-packages"));
        }
        candidates.Add(System.IO.Path.Combine(prefix, "lib", "python3", "dist-packages"));
        if (series is not null) candidates.Add(System.IO.Path.Combine(prefix, "lib", "python" + series, "dist-packages"));
        var seen = new List<string>();
        foreach (string candidate in candidates)
        {
            if (!Directory.Exists(candidate) || seen.Any(s => SameDirectory(s, candidate))) continue;
            seen.Add(candidate);
            yield return SiteDirectory.At(candidate);
        }
    }

    private static string? FindInterpreter(string prefix, string? series)
    {
        string[] names = series is null ? ["python3", "python"] : ["python", "python3", "python" + series];
        return names.Select(n => System.IO.Path.Combine(prefix, "bin", n)).FirstOrDefault(File.Exists);
    }

    private static Dictionary<string, string> ReadVenvConfig(string path)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in File.ReadLines(path))
        {
            int equals = line.IndexOf('=');
            if (equals > 0) settings[line[..equals].Trim()] = line[(equals + 1)..].Trim();
        }
        return settings;
    }

    private static bool SameDirectory(string a, string b) => a == b || RealPath.Of(a) == RealPath.Of(b);
}

/// <summary>
/// A directory on sys.path where distributions are installed, with the prefix it sits in
/// (<c>PREFIX/lib/pythonX.Y/site-packages</c>, <c>/usr/lib/python3/dist-packages</c>) so that
/// RECORD rows such as <c>../../../bin/flask</c> can be placed, and the Python series its
/// directory name says.
/// </summary>
internal sealed partial record SiteDirectory(string Path, string? Prefix, string? Series)
{
    [GeneratedRegex(@"^python(\d+)(?:\.(\d+))?t?$")]
    private static partial Regex LibPythonDirectory();

    public static SiteDirectory At(string path)
    {
        path = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));
        string? parent = System.IO.Path.GetDirectoryName(path);
        string? lib = parent is null ? null : System.IO.Path.GetDirectoryName(parent);
        var match = parent is null ? Match.Empty : LibPythonDirectory().Match(System.IO.Path.GetFileName(parent));
        if (!match.Success || lib is null || System.IO.Path.GetFileName(lib) is not ("lib" or "lib64"))
            return new SiteDirectory(path, null, null);
        string? series = match.Groups[2].Success ? $"{match.Groups[1].Value}.{match.Groups[2].Value}" : null;
        return new SiteDirectory(path, System.IO.Path.GetDirectoryName(lib), series);
    }
}
