using System.Collections.Concurrent;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

public sealed record ImportClosureOptions
{
    /// <summary>Include the distributions imports need but requirements do not declare (else only warn).</summary>
    public bool FollowImports { get; init; } = true;

    /// <summary>Told of each distribution included for an import (one line each), and of what is left out.</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>Told of each undeclared distribution not included (with <see cref="FollowImports"/> off).</summary>
    public Action<string>? Warning { get; init; }
}

/// <summary>
/// Completes a requirement closure with what its code imports (docs/python-distributions.md,
/// "Undeclared imports"), as modulefinder and PyInstaller's analysis do: from every module of the
/// requested distributions (but tests, examples and build scripts), each module reached is
/// scanned (<see cref="ImportScanner"/>) and its imports followed, to a module of the image, of
/// the standard library, or of a distribution installed in the environment that no requirement
/// brought in (Debian's metadata declares no dependencies). Such a distribution is added as if
/// requested, with its own declared requirements, and followed in turn, to a fixed point; one that
/// cannot be added (its own requirements are not installed) is left out with a warning. An import
/// whose name is computed (matplotlib's backends) reaches every module of the importer's package.
/// Imports that may never run add no distribution, and what they would have added is named in one
/// note: those inside <c>try/except ImportError</c>, and those inside functions of the
/// distributions brought in (numpy's test runner imports scipy in a function; followed, that
/// brings sympy) — in the requested distributions' own functions they count. Imports found nowhere
/// are counted, not fatal (other platforms, other Python versions, development tools). Only what
/// is reached is scanned: a whole distribution's modules would bring in what its unused corners
/// import (fontTools.misc.symfont imports sympy).
/// </summary>
public sealed class ImportClosure
{
    private const string Library = PythonArchiveBuilder.LibraryDirectory + "/";
    private const int SummaryExamples = 5;

    private readonly InstalledEnvironment _environment;
    private readonly ImportScanner _scanner;
    private readonly ImportClosureOptions _options;
    /// <summary>
    /// Which installed distributions provide each module name, for the misses: made on the side
    /// while the servers scan (reading every installed distribution's RECORD is ~0.5 s of CPU for
    /// a large environment, which the main thread would otherwise spend alone after the scan).
    /// </summary>
    private readonly Task<Dictionary<string, List<InstalledDistribution>>> _installedModules;
    private readonly HashSet<string> _reached = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reachedSources = new(StringComparer.Ordinal);
    private readonly List<(string Module, ImageEntry Source, bool IsPackage)> _pending = [];
    private readonly List<Miss> _misses = [];
    private readonly HashSet<(string, bool)> _missed = [];
    private readonly HashSet<string> _excluded = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dynamicPackages = new(StringComparer.Ordinal);
    private HashSet<string>? _roots;
    private Dictionary<string, ModuleFile> _modules = [];
    private DistributionBundle _bundle = null!;

    private ImportClosure(InstalledEnvironment environment, ImportScanner scanner, ImportClosureOptions options)
    {
        _environment = environment;
        _scanner = scanner;
        _options = options;
        _installedModules = Task.Run(IndexInstalledModules);
    }

    /// <summary>
    /// Returns <paramref name="bundle"/>, or, when imports need undeclared distributions of
    /// <paramref name="environment"/> (and <see cref="ImportClosureOptions.FollowImports"/>), the
    /// bundle <paramref name="resolve"/> makes of <paramref name="requested"/> plus those (the
    /// bundles replaced are disposed, and the bundle in hand when it throws).
    /// <paramref name="reached"/> gets the image paths of the sources scanned: every module the
    /// requested distributions' modules import, directly or not, wherever the import is (in a
    /// function, under try) — what the application may import when it runs.
    /// </summary>
    public static DistributionBundle Complete(DistributionBundle bundle, IReadOnlyList<Requirement> requested,
        Func<IReadOnlyList<Requirement>, DistributionBundle> resolve, InstalledEnvironment environment, ImportScanner scanner,
        ImportClosureOptions options, out IReadOnlySet<string> reached)
    {
        var closure = new ImportClosure(environment, scanner, options);
        var completed = closure.Run(bundle, requested, resolve);
        reached = closure._reachedSources;
        return completed;
    }

    private DistributionBundle Run(DistributionBundle bundle, IReadOnlyList<Requirement> requested, Func<IReadOnlyList<Requirement>, DistributionBundle> resolve)
    {
        _bundle = bundle;
        try
        {
            Follow(requested, resolve);
            return _bundle;
        }
        catch
        {
            _bundle.Dispose();
            throw;
        }
    }

    private void Follow(IReadOnlyList<Requirement> requested, Func<IReadOnlyList<Requirement>, DistributionBundle> resolve)
    {
        var requirements = requested.ToList();
        Index(_bundle);

        while (true)
        {
            ScanPending();
            var undeclared = new Dictionary<InstalledDistribution, Miss>();
            var present = _bundle.Distributions.Select(d => d.NormalizedName).ToHashSet(StringComparer.Ordinal);
            foreach (var miss in _misses.Where(m => m.IsNeeded))
                if (InstalledOwner(miss.Module) is { } owner && !present.Contains(owner.NormalizedName) && !_excluded.Contains(owner.NormalizedName))
                    undeclared.TryAdd(owner, miss);
            if (undeclared.Count == 0) break;

            string ImportedBy(Miss miss) => $"imported by {miss.Importer[Library.Length..]}, not declared by {_bundle.Owners[miss.Importer]}";
            if (!_options.FollowImports)
            {
                foreach (var (distribution, miss) in undeclared)
                    _options.Warning?.Invoke($"{distribution} is {ImportedBy(miss)}; not included (--no-follow-imports)");
                break;
            }

            var added = undeclared.Keys.ToList();
            var completed = TryResolve(resolve, [.. requirements, .. added.Select(Requirement)], out var problem);
            if (completed is null)
            {
                // Find which of them cannot come, one by one (rare: each try resolves again).
                foreach (var distribution in added.ToArray())
                {
                    using var alone = TryResolve(resolve, [.. requirements, Requirement(distribution)], out problem);
                    if (alone is not null) continue;
                    added.Remove(distribution);
                    _options.Warning?.Invoke($"not including {distribution} ({ImportedBy(undeclared[distribution])}): {problem}");
                }
                completed = resolve([.. requirements, .. added.Select(Requirement)]);
            }
            foreach (var distribution in added)
                _options.Notice?.Invoke($"including {distribution} ({ImportedBy(undeclared[distribution])})");
            requirements.AddRange(added.Select(Requirement));
            _bundle.Dispose();
            _bundle = completed;
            Index(_bundle);
            // What could not come is missing for good: no second warning.
            foreach (var distribution in undeclared.Keys.Except(added)) _excluded.Add(distribution.NormalizedName);
            // What was missing may be in the image now: follow those imports again.
            var again = _misses.ToList();
            _misses.Clear();
            _missed.Clear();
            foreach (var miss in again) Reach(miss.Module, miss.IsNeeded, miss.Importer);
        }
        Summarize();
    }

    private static Requirement Requirement(Distribution distribution) => Standards.Requirement.Parse(distribution.Name);

    private static DistributionBundle? TryResolve(Func<IReadOnlyList<Requirement>, DistributionBundle> resolve, IReadOnlyList<Requirement> requirements, out string? problem)
    {
        try
        {
            problem = null;
            return resolve(requirements);
        }
        catch (DistributionResolutionException e)
        {
            problem = string.Join("; ", e.Problems);
            return null;
        }
    }

    private void Summarize()
    {
        var present = _bundle.Distributions.Select(d => d.NormalizedName).ToHashSet(StringComparer.Ordinal);
        var optional = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var nowhere = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var miss in _misses)
        {
            var owner = InstalledOwner(miss.Module);
            if (owner is null && miss.IsNeeded) nowhere.Add(miss.Module.Split('.')[0]);
            else if (owner is not null && !miss.IsNeeded && !present.Contains(owner.NormalizedName))
                optional.TryAdd(owner.ToString(), miss.Importer[Library.Length..]);
        }
        if (optional.Count > 0)
            _options.Notice?.Invoke($"not including {Count(optional.Count, "installed distribution")} only imported inside functions or try/except ImportError "
                + "(name them as requirements to include them): " + Examples(optional.Select(o => $"{o.Key} ({o.Value})").ToList()));
        if (nowhere.Count > 0)
            _options.Notice?.Invoke($"{Count(nowhere.Count, "imported top-level name")} found neither in the image, the standard library nor {_environment.Path}: "
                + Examples(nowhere.ToList()));
    }

    private static string Count(int count, string what) => $"{count} {what}{(count == 1 ? "" : "s")}";

    private static string Examples(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(SummaryExamples)) + (items.Count > SummaryExamples ? $", and {items.Count - SummaryExamples} more" : "");

    /// <summary>Scans what was reached, following each wave's imports, until nothing new is reached.</summary>
    private void ScanPending()
    {
        while (_pending.Count > 0)
        {
            var wave = _pending.ToArray();
            _pending.Clear();
            var found = new ConcurrentDictionary<string, IReadOnlyList<ModuleImport>>(StringComparer.Ordinal);
            LargestFirst.ForEach(wave, item => item.Source.Content!.Length, _scanner.ServerCount, item =>
            {
                // A source that does not parse for the target is skipped here; the compiler says so.
                if (_scanner.Scan(item.Source.Path, ReadAll(item.Source.Content!), out _) is { } imports)
                    found[item.Module] = imports;
            });
            foreach (var (module, source, isPackage) in wave.OrderBy(w => w.Module, StringComparer.Ordinal))
            {
                if (!found.TryGetValue(module, out var imports)) continue;
                foreach (var import in imports)
                {
                    if (import.Module == ModuleImport.Dynamic)
                    {
                        ReachPackage(isPackage ? module : module[..Math.Max(0, module.LastIndexOf('.'))]);
                        continue;
                    }
                    if (import.AbsoluteModule(module, isPackage) is not { Length: > 0 } absolute) continue;
                    bool isNeeded = !import.IsOptional && (!import.IsDeferred || _roots!.Contains(_bundle.Owners[source.Path].NormalizedName));
                    Reach(absolute, isNeeded, source.Path);
                    // from package import name: name may be a submodule.
                    foreach (string name in import.Names)
                        if (_modules.ContainsKey($"{absolute}.{name}"))
                            Reach($"{absolute}.{name}", isNeeded, source.Path);
                }
            }
        }
    }

    /// <summary>Importing a.b.c runs a, a.b and a.b.c: each one in the image gets scanned; a name not in the image nor the standard library is a miss.</summary>
    private void Reach(string module, bool isNeeded = true, string importer = "")
    {
        string[] parts = module.Split('.');
        ModuleFile? longest = null;
        int longestLength = 0;
        for (int length = 1; length <= parts.Length; length++)
        {
            string name = string.Join('.', parts, 0, length);
            if (!_modules.TryGetValue(name, out var file)) continue;
            longest = file;
            longestLength = length;
            if (file.Source is { } source && _reached.Add(name))
            {
                _pending.Add((name, source, file.IsPackage));
                _reachedSources.Add(source.Path);
            }
        }
        // Found, or an attribute of a module found (six.moves); only a namespace package may have
        // portions in other distributions.
        if (longestLength == parts.Length || longest is { IsNamespace: false }) return;
        if (longest is null && _scanner.StandardLibrary.Contains(parts[0])) return;
        if (importer.Length > 0 && _missed.Add((module, isNeeded))) _misses.Add(new Miss(module, isNeeded, importer));
    }

    /// <summary>The installed distribution whose files provide the longest prefix of <paramref name="module"/>, or null.</summary>
    private InstalledDistribution? InstalledOwner(string module)
    {
        string[] parts = module.Split('.');
        for (int length = parts.Length; length > 0; length--)
            if (_installedModules.GetAwaiter().GetResult().TryGetValue(string.Join('.', parts, 0, length), out var owners))
                return owners[0];
        return null;
    }

    private void Index(DistributionBundle bundle)
    {
        _modules = new Dictionary<string, ModuleFile>(StringComparer.Ordinal);
        foreach (var entry in bundle.Entries)
            foreach (var (name, kind) in ModuleNames(entry.Path))
            {
                var file = _modules.GetValueOrDefault(name) ?? new ModuleFile();
                _modules[name] = kind switch
                {
                    ModuleKind.Directory => file with { IsPackage = true },
                    ModuleKind.PackageInit => file with { IsPackage = true, IsNamespace = false, Source = entry.Type == ImageEntryType.File && entry.Path.EndsWith(".py", StringComparison.Ordinal) ? entry : file.Source },
                    ModuleKind.Source => file with { IsNamespace = false, Source = entry.Type == ImageEntryType.File ? entry : file.Source },
                    _ => file with { IsNamespace = false },
                };
            }
        // The distributions requested first: those added later are followed only where reached.
        _roots ??= bundle.Roots.Select(d => d.NormalizedName).ToHashSet(StringComparer.Ordinal);
        foreach (var (module, file) in _modules.OrderBy(m => m.Key, StringComparer.Ordinal))
            if (file.Source is { } source && _roots.Contains(bundle.Owners[source.Path].NormalizedName) && !IsDevelopmentFile(source.Path))
                Reach(module);
    }

    /// <summary>Reaches every module below <paramref name="package"/> (not a whole top level: a computed import in a top-level module reaches nothing).</summary>
    private void ReachPackage(string package)
    {
        if (package.Length == 0 || !_dynamicPackages.Add(package)) return;
        foreach (var (module, file) in _modules.Where(m => m.Key.StartsWith(package + ".", StringComparison.Ordinal)).OrderBy(m => m.Key, StringComparer.Ordinal).ToArray())
            if (file.Source is { } source && !IsDevelopmentFile(source.Path))
                Reach(module);
    }

    /// <summary>Tests, examples, benchmarks and build scripts: they import pytest, setuptools, sympy… that the code does not need.</summary>
    private static bool IsDevelopmentFile(string path)
    {
        string[] parts = path.Split('/');
        return parts[^1] is "setup.py" or "conftest.py"
            || parts[..^1].Any(d => d is "tests" or "test" or "testing" or "examples" or "_examples" or "benchmarks" or "_precompute");
    }

    private Dictionary<string, List<InstalledDistribution>> IndexInstalledModules()
    {
        var index = new Dictionary<string, List<InstalledDistribution>>(StringComparer.Ordinal);
        foreach (var distribution in _environment.Distributions)
        {
            if (distribution.EditableSource is not null) continue;
            IReadOnlyList<DistributionFile> files;
            try
            {
                files = distribution.GetFiles();
            }
            catch (Exception e) when (e is InstalledDistributionException or IOException or UnauthorizedAccessException)
            {
                continue; // it cannot go into an image anyway; resolving it would say why
            }
            foreach (var file in files)
                foreach (var (name, _) in ModuleNames(PythonImageLayout.PathOf(file.Scheme, file.Path)))
                {
                    if (!index.TryGetValue(name, out var owners)) index[name] = owners = [];
                    if (!owners.Contains(distribution)) owners.Add(distribution);
                }
        }
        return index;
    }

    private enum ModuleKind { Directory, PackageInit, Source, Extension }

    /// <summary>The modules an image path makes importable: its directories (packages) and itself (a.py, a/__init__.py, a.cpython-311-x86_64-linux-gnu.so).</summary>
    private static IEnumerable<(string Name, ModuleKind Kind)> ModuleNames(string path)
    {
        if (!path.StartsWith(Library, StringComparison.Ordinal)) yield break;
        string[] parts = path[Library.Length..].Split('/');
        if (parts.Contains("__pycache__") || parts[0].EndsWith(".dist-info", StringComparison.Ordinal) || parts[0].EndsWith(".egg-info", StringComparison.Ordinal))
            yield break;
        for (int length = 1; length < parts.Length; length++)
            yield return (string.Join('.', parts, 0, length), ModuleKind.Directory);
        string file = parts[^1];
        int dot = file.IndexOf('.');
        if (dot <= 0) yield break;
        string stem = file[..dot];
        bool isSource = file.EndsWith(".py", StringComparison.Ordinal) && dot == file.Length - 3;
        bool isExtension = file.EndsWith(".so", StringComparison.Ordinal);
        if (!isSource && !isExtension) yield break;
        string package = string.Join('.', parts, 0, parts.Length - 1);
        if (stem == "__init__")
        {
            if (package.Length > 0) yield return (package, ModuleKind.PackageInit);
            yield break;
        }
        yield return (package.Length > 0 ? $"{package}.{stem}" : stem, isSource ? ModuleKind.Source : ModuleKind.Extension);
    }

    private static byte[] ReadAll(FileContent content)
    {
        using var stream = content.OpenRead();
        var bytes = new byte[content.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>A module name of the image: a package (a namespace one until an <c>__init__</c> is seen), a source, an extension.</summary>
    private sealed record ModuleFile
    {
        public bool IsPackage { get; init; }
        public bool IsNamespace { get; init; } = true;
        public ImageEntry? Source { get; init; }
    }

    /// <summary>An import of a name neither in the image nor in the standard library, and the image path of the source that made it.</summary>
    /// <param name="IsNeeded">Neither optional nor deferred (in a function of a distribution not requested).</param>
    private sealed record Miss(string Module, bool IsNeeded, string Importer);
}
