using Xar.Python.Standards;

namespace Xar.Python.Distributions;

/// <summary>A requirement on a distribution and who made it ("the request", "flask 3.1.3", "moto[s3] 5.2.1").</summary>
internal sealed record Demand(Requirement Requirement, string RequiredBy);

/// <summary>
/// What a source offers for a name, given every demand on it so far: a distribution, or why there
/// is none. A distribution may come with a problem (unusable, e.g. an editable install) that is
/// reported while its own requirements are still followed, so that one error lists everything.
/// </summary>
internal sealed record Choice(Distribution? Distribution, string? Problem)
{
    public static Choice Unavailable(string reason) => new(null, reason);
}

/// <summary>The distributions a set of requirements needs, in the order they were reached.</summary>
public sealed class Resolution
{
    internal Resolution(IReadOnlyList<Distribution> roots, IReadOnlyList<Distribution> distributions,
        IReadOnlyDictionary<Distribution, IReadOnlyList<string>> extras, IReadOnlyList<string> notes)
    {
        Roots = roots;
        Distributions = distributions;
        Extras = extras;
        Notes = notes;
    }

    /// <summary>The distributions the requested requirements named, in request order.</summary>
    public IReadOnlyList<Distribution> Roots { get; }

    /// <summary>Every distribution needed, roots first, then breadth first.</summary>
    public IReadOnlyList<Distribution> Distributions { get; }

    /// <summary>The extras requested of each distribution (normalized).</summary>
    public IReadOnlyDictionary<Distribution, IReadOnlyList<string>> Extras { get; }

    /// <summary>Things worth telling the user that are not errors (requirements whose markers exclude them, unknown extras).</summary>
    public IReadOnlyList<string> Notes { get; }
}

/// <summary>
/// Walks requirements breadth first from the requested ones, as pip does without backtracking:
/// each name gets the distribution the source picks for the demands known when it is first
/// reached; a distribution's Requires-Dist apply with their markers evaluated for the target
/// (with <c>extra</c> empty for its base requirements, and once per requested extra). Afterwards
/// every demand is checked against what was picked (pre-releases allowed, as pip checks installed
/// versions); every unmet one is reported in one <see cref="DistributionResolutionException"/>.
/// </summary>
internal sealed class DependencyResolver(string source, MarkerEnvironment markers, Func<string, IReadOnlyList<Demand>, Choice> choose, string pickedVerb)
{
    public const string Request = "the request";

    private readonly Dictionary<string, List<Demand>> _demands = [];
    private readonly HashSet<(string, string)> _seenDemands = [];
    private readonly Dictionary<string, Picked> _picked = [];
    private readonly Dictionary<string, string> _unavailable = [];
    private readonly HashSet<string> _unusable = [];
    private readonly List<Distribution> _order = [];
    private readonly List<UnsatisfiedRequirement> _problems = [];
    private readonly List<string> _notes = [];
    private readonly Queue<Demand> _queue = new();

    public Resolution Resolve(IEnumerable<Requirement> requirements)
    {
        var rootNames = new List<string>();
        foreach (var requirement in requirements)
        {
            if (requirement.Marker is { } marker && !Evaluate(marker, "", requirement, Request))
            {
                _notes.Add($"{requirement}: skipped, its marker does not hold for the target interpreter");
                continue;
            }
            Enqueue(new Demand(requirement, Request));
            if (!rootNames.Contains(requirement.NormalizedName)) rootNames.Add(requirement.NormalizedName);
        }

        while (_queue.TryDequeue(out var demand)) Visit(demand);

        CheckDemands();
        if (_problems.Count > 0) throw new DistributionResolutionException(source, _problems);
        var roots = rootNames.Select(name => _picked[name].Distribution).ToArray();
        var extras = _picked.Values.ToDictionary(p => p.Distribution, p => (IReadOnlyList<string>)p.Extras.Order(StringComparer.Ordinal).ToArray());
        return new Resolution(roots, _order, extras, _notes);
    }

    private void Visit(Demand demand)
    {
        string name = demand.Requirement.NormalizedName;
        if (_unavailable.ContainsKey(name)) return;
        if (!_picked.TryGetValue(name, out var picked))
        {
            var choice = choose(name, _demands[name]);
            if (choice.Distribution is not { } distribution)
            {
                _unavailable[name] = choice.Problem ?? "not available";
                return;
            }
            if (choice.Problem is { } problem)
            {
                _problems.Add(new UnsatisfiedRequirement(demand.Requirement.ToString(), demand.RequiredBy, problem));
                _unusable.Add(name);
            }
            picked = new Picked(distribution);
            _picked[name] = picked;
            _order.Add(distribution);
            Expand(picked, extra: null);
        }
        foreach (string extra in demand.Requirement.Extras.Select(DistributionName.Normalize))
            if (picked.Extras.Add(extra))
                Expand(picked, extra);
    }

    // The requirements that apply: without an extra, those whose marker holds with extra == "";
    // for an extra, those whose marker holds with that extra.
    private void Expand(Picked picked, string? extra)
    {
        var distribution = picked.Distribution;
        string requiredBy = extra is null ? distribution.ToString() : $"{distribution.Name}[{extra}] {distribution.VersionText}";
        IReadOnlyList<Requirement> requirements;
        try
        {
            requirements = distribution.Requirements;
        }
        catch (InvalidRequirementException e)
        {
            _problems.Add(new UnsatisfiedRequirement(distribution.Name, distribution.Origin, e.Message));
            return;
        }

        bool extraUsed = extra is null || distribution.Metadata.ProvidesExtra.Any(e => DistributionName.Normalize(e) == extra);
        foreach (var requirement in requirements)
        {
            bool applies;
            if (requirement.Marker is not { } marker) applies = extra is null;
            else if (extra is null) applies = Evaluate(marker, "", requirement, requiredBy);
            else
            {
                applies = Evaluate(marker, extra, requirement, requiredBy);
                if (applies && !Evaluate(marker, "", requirement, requiredBy)) extraUsed = true;
            }
            if (applies) Enqueue(new Demand(requirement, requiredBy));
        }
        if (!extraUsed) _notes.Add($"{distribution} does not provide the extra '{extra}'");
    }

    private bool Evaluate(Marker marker, string extra, Requirement requirement, string requiredBy)
    {
        try
        {
            return marker.Evaluate(markers, extra);
        }
        catch (MarkerEvaluationException e)
        {
            _problems.Add(new UnsatisfiedRequirement(requirement.ToString(), requiredBy, $"its marker cannot be evaluated: {e.Message}"));
            return false;
        }
    }

    private void Enqueue(Demand demand)
    {
        if (!_seenDemands.Add((demand.Requirement.ToString(), demand.RequiredBy))) return;
        string name = demand.Requirement.NormalizedName;
        if (!_demands.TryGetValue(name, out var list)) _demands[name] = list = [];
        list.Add(demand);
        _queue.Enqueue(demand);
    }

    private void CheckDemands()
    {
        foreach (var (name, demands) in _demands)
        {
            if (_unavailable.TryGetValue(name, out string? reason))
            {
                foreach (var demand in demands)
                    _problems.Add(new UnsatisfiedRequirement(demand.Requirement.ToString(), demand.RequiredBy, reason));
                continue;
            }
            // Its problem is reported already; a version of an unusable distribution means nothing.
            if (_unusable.Contains(name)) continue;
            var distribution = _picked[name].Distribution;
            foreach (var demand in demands)
            {
                var specifier = demand.Requirement.Specifier;
                if (specifier.IsEmpty) continue;
                if (distribution.Version is not { } version)
                    _problems.Add(new UnsatisfiedRequirement(demand.Requirement.ToString(), demand.RequiredBy,
                        $"{distribution.Name} {pickedVerb} with version '{distribution.VersionText}', which is not a PEP 440 version"));
                else if (!specifier.Contains(version, prereleases: true))
                    _problems.Add(new UnsatisfiedRequirement(demand.Requirement.ToString(), demand.RequiredBy,
                        $"{distribution.Name} {distribution.VersionText} {pickedVerb}"));
            }
        }
    }

    private sealed class Picked(Distribution distribution)
    {
        public Distribution Distribution { get; } = distribution;
        public HashSet<string> Extras { get; } = [];
    }
}
