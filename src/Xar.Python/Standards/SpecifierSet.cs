using System.Diagnostics.CodeAnalysis;

namespace Xar.Python.Standards;

/// <summary>
/// A comma-separated PEP 440 specifier set such as <c>&gt;=1.0, !=1.3.*, &lt;2</c>: a version
/// matches when every specifier matches it; the empty set matches everything. Specifiers that are
/// equal (see <see cref="Specifier.Equals(Specifier)"/>) count once, as in packaging's frozenset.
/// </summary>
public sealed class SpecifierSet : IEquatable<SpecifierSet>
{
    private readonly Specifier[] _specifiers;
    private readonly bool? _prereleases;

    private SpecifierSet(Specifier[] specifiers, bool? prereleases)
    {
        _specifiers = specifiers;
        _prereleases = prereleases;
    }

    /// <summary>The set that matches every version.</summary>
    public static SpecifierSet Empty { get; } = new([], null);

    /// <summary>The distinct specifiers, in the order first written.</summary>
    public IReadOnlyList<Specifier> Specifiers => _specifiers;

    public int Count => _specifiers.Length;

    public bool IsEmpty => _specifiers.Length == 0;

    /// <summary>
    /// Whether pre-releases match: the override given to <see cref="Parse"/>; else null for the
    /// empty set (undecided: see <see cref="Filter(IEnumerable{PythonVersion}, bool?)"/>); else
    /// whether any specifier asks for them.
    /// </summary>
    public bool? Prereleases => _prereleases ?? (IsEmpty ? null : _specifiers.Any(s => s.Prereleases));

    public static SpecifierSet Parse(string text, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var specifiers = new List<Specifier>();
        foreach (string item in text.Split(','))
        {
            string trimmed = PythonText.Strip(item);
            if (trimmed.Length == 0) continue;
            if (!Specifier.TryParse(trimmed, out var specifier))
                throw new InvalidSpecifierException(text, $"'{trimmed}' is not a version specifier");
            if (!specifiers.Contains(specifier)) specifiers.Add(specifier);
        }
        return new SpecifierSet([.. specifiers], prereleases);
    }

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out SpecifierSet? specifiers, bool? prereleases = null)
    {
        specifiers = null;
        if (text is null) return false;
        try
        {
            specifiers = Parse(text, prereleases);
            return true;
        }
        catch (InvalidSpecifierException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether every specifier matches <paramref name="version"/>. A pre-release matches only when
    /// pre-releases are allowed, by <paramref name="prereleases"/> or else by <see cref="Prereleases"/>.
    /// </summary>
    public bool Contains(PythonVersion version, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        bool? allowed = prereleases ?? Prereleases;
        if (allowed != true && version.IsPrerelease) return false;
        foreach (var specifier in _specifiers)
            if (!specifier.Contains(version, allowed))
                return false;
        return true;
    }

    /// <summary>Parses <paramref name="version"/> (throwing <see cref="InvalidVersionException"/>) and tests it.</summary>
    public bool Contains(string version, bool? prereleases = null) => Contains(PythonVersion.Parse(version), prereleases);

    /// <summary>
    /// The matching versions, in order. With specifiers, pre-releases are kept only when allowed.
    /// The empty set keeps every final release, and the pre-releases too when nothing else is
    /// there and pre-releases were not explicitly refused.
    /// </summary>
    public IEnumerable<PythonVersion> Filter(IEnumerable<PythonVersion> versions, bool? prereleases = null) =>
        Filter(versions, static version => version, prereleases);

    /// <summary><see cref="Filter(IEnumerable{PythonVersion}, bool?)"/> over items that carry a version.</summary>
    public IEnumerable<T> Filter<T>(IEnumerable<T> items, Func<T, PythonVersion> versionOf, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        bool? allowed = prereleases ?? Prereleases;
        if (!IsEmpty)
        {
            // Each specifier filters with a definite yes/no, so no specifier's "pre-releases when
            // nothing else matches" fallback applies: this is the intersection.
            bool allow = allowed == true;
            return items.Where(item => _specifiers.All(s => s.Contains(versionOf(item), allow))).ToList();
        }

        var finals = new List<T>();
        var heldPrereleases = new List<T>();
        foreach (var item in items)
        {
            if (versionOf(item).IsPrerelease && allowed != true)
            {
                if (finals.Count == 0) heldPrereleases.Add(item);
            }
            else
            {
                finals.Add(item);
            }
        }
        return finals.Count == 0 && heldPrereleases.Count > 0 && allowed is null ? heldPrereleases : finals;
    }

    /// <summary>Both sets' specifiers; the pre-release overrides must agree where both are given.</summary>
    public SpecifierSet Intersect(SpecifierSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (_prereleases is { } mine && other._prereleases is { } theirs && mine != theirs)
            throw new InvalidOperationException("Cannot combine specifier sets with True and False pre-release overrides.");
        var combined = new List<Specifier>(_specifiers);
        foreach (var specifier in other._specifiers)
            if (!combined.Contains(specifier)) combined.Add(specifier);
        return new SpecifierSet([.. combined], _prereleases ?? other._prereleases);
    }

    /// <summary>The specifiers as written, sorted and comma-separated, as packaging prints them: <c>!=1.3.*,&lt;2,&gt;=1.0</c>.</summary>
    public override string ToString() =>
        string.Join(',', _specifiers.Select(s => s.ToString()).Order(Comparer<string>.Create(PythonText.CompareCodePoints)));

    /// <summary>Same specifiers, in any order.</summary>
    public bool Equals(SpecifierSet? other) =>
        other is not null && _specifiers.Length == other._specifiers.Length && _specifiers.All(other._specifiers.Contains);

    public override bool Equals(object? obj) => obj is SpecifierSet other && Equals(other);

    public override int GetHashCode()
    {
        int hash = 0;
        foreach (var specifier in _specifiers) hash ^= specifier.GetHashCode();
        return hash;
    }
}
