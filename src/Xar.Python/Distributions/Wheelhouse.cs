using Xar.Python.Standards;

namespace Xar.Python.Distributions;

/// <summary>
/// Wheels to choose from: wheel files and directories of them ("find links" without a network).
/// <see cref="Resolve"/> picks, for each requirement and recursively for the Requires-Dist of what
/// it picks, the wheel pip would install: among wheels whose tags the target supports, whose
/// version satisfies every specifier known for that name at that point and whose Requires-Python
/// admits the target, the newest version, then the most specific tag, then the highest build tag.
/// There is no backtracking; a later demand the pick does not satisfy is reported as a conflict.
/// A direct reference (<c>name @ file:///…/name-1.0-py3-none-any.whl</c>) accepts only the wheel
/// of that file name.
/// </summary>
public sealed class Wheelhouse
{
    private readonly List<(WheelFilename Name, string Path)> _wheels = [];
    private readonly List<string> _notes = [];

    /// <summary>Every wheel found, in the order added (directories in file name order).</summary>
    public IReadOnlyList<(WheelFilename Name, string Path)> Wheels => _wheels;

    /// <summary>Files in the directories that are not valid wheel names, and wheels found twice.</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>Adds a wheel file, or every <c>*.whl</c> directly inside a directory.</summary>
    public void Add(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = Path.GetFullPath(path);
        if (Directory.Exists(path))
        {
            foreach (string file in Directory.EnumerateFiles(path, "*.whl").Order(StringComparer.Ordinal))
                AddFile(file);
        }
        else if (File.Exists(path))
        {
            if (!WheelFilename.TryParse(Path.GetFileName(path), out _))
                throw new InvalidWheelException(path, "not a wheel file name (name-version(-build)-python-abi-platform.whl)");
            AddFile(path);
        }
        else
        {
            throw new FileNotFoundException($"{path}: no such wheel or directory", path);
        }
    }

    /// <summary>
    /// Picks the wheels <paramref name="requirements"/> need for <paramref name="target"/> and opens
    /// them (checking each as <see cref="WheelFile.Open"/> does). Throws
    /// <see cref="DistributionResolutionException"/> listing every requirement without a usable
    /// wheel and every conflict, <see cref="InvalidWheelException"/> for a picked wheel that is broken.
    /// </summary>
    /// <param name="installed">Where to take what no wheel provides, or null: a distribution of
    /// a name that has wheels always comes from the wheels.</param>
    public DistributionBundle Resolve(IEnumerable<Requirement> requirements, TargetInterpreter target, InstalledEnvironment? installed = null)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        ArgumentNullException.ThrowIfNull(target);
        var opened = new Dictionary<string, WheelFile>(StringComparer.Ordinal);
        try
        {
            string source = installed is null ? $"the wheels for {target.Description}" : $"the wheels and {installed.Path} for {target.Description}";
            var resolver = new DependencyResolver(source, target.Markers, (name, demands) =>
            {
                var choice = Choose(name, demands, target, opened);
                if (choice.Distribution is not null || installed is null || _wheels.Any(w => w.Name.NormalizedName == name)) return choice;
                var fallback = installed.Choose(name, target);
                return fallback.Distribution is null ? Choice.Unavailable($"{choice.Problem}; {fallback.Problem}") : fallback;
            }, installed is null ? "was selected" : "was selected or is installed");
            var resolution = resolver.Resolve(requirements);
            var bundle = DistributionBundle.Create(resolution, [.. _notes]);
            foreach (var unused in opened.Values.Except(resolution.Distributions.OfType<WheelFile>())) unused.Dispose();
            return bundle;
        }
        catch
        {
            foreach (var wheel in opened.Values) wheel.Dispose();
            throw;
        }
    }

    private void AddFile(string file)
    {
        if (!WheelFilename.TryParse(Path.GetFileName(file), out var name))
        {
            _notes.Add($"{file}: ignored, not a valid wheel file name");
            return;
        }
        if (_wheels.Any(w => w.Name.FileName == name.FileName))
        {
            _notes.Add($"{file}: ignored, {name.FileName} was found earlier");
            return;
        }
        _wheels.Add((name, file));
    }

    private Choice Choose(string name, IReadOnlyList<Demand> demands, TargetInterpreter target, Dictionary<string, WheelFile> opened)
    {
        var candidates = _wheels.Where(w => w.Name.NormalizedName == name).ToList();
        if (candidates.Count == 0) return Choice.Unavailable($"no wheel of {name} is available");

        // A direct reference (name @ url) names one wheel: only a wheel of that file name will do,
        // wherever the wheelhouse got it from; there is no download.
        foreach (var demand in demands.Where(d => d.Requirement.Url is not null))
        {
            string fileName = Uri.TryCreate(demand.Requirement.Url, UriKind.Absolute, out var uri)
                ? Uri.UnescapeDataString(uri.Segments[^1])
                : Path.GetFileName(demand.Requirement.Url!);
            candidates = candidates.Where(c => c.Name.FileName == fileName).ToList();
            if (candidates.Count == 0)
                return Choice.Unavailable($"{demand.Requirement.Url} (from {demand.RequiredBy}) is not among the wheels given");
        }

        var specifier = demands.Select(d => d.Requirement.Specifier).Aggregate((a, b) => a.Intersect(b));
        var rejected = new List<string>();
        var compatible = new List<(WheelFilename Name, string Path)>();
        foreach (var candidate in candidates)
        {
            if (target.Tags.IsCompatible(candidate.Name)) compatible.Add(candidate);
            else rejected.Add($"{candidate.Name.FileName} (tags not supported by {target.Description})");
        }
        var matching = specifier.Filter(compatible, c => c.Name.Version).ToList();
        foreach (var candidate in compatible.Except(matching))
            rejected.Add($"{candidate.Name.FileName} (version {candidate.Name.Version} does not match '{specifier}')");

        while (target.Tags.SelectBest(matching.Select(m => m.Name)) is { } best)
        {
            string path = matching.First(m => m.Name == best).Path;
            if (!opened.TryGetValue(path, out var wheel))
            {
                wheel = WheelFile.Open(path);
                opened[path] = wheel;
            }
            if (wheel.RequiresPython is { } requiresPython && !requiresPython.Contains(target.Version, prereleases: true))
            {
                rejected.Add($"{best.FileName} (Requires-Python '{requiresPython}' excludes {target.Version})");
                matching.RemoveAll(m => m.Name == best);
                continue;
            }
            return new Choice(wheel, null);
        }
        return Choice.Unavailable("no usable wheel: " + string.Join("; ", rejected));
    }
}
