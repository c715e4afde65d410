using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Xar.Python.Standards;

/// <summary>
/// A PEP 508 dependency specifier: <c>name [extras] (specifiers | @ url) ; marker</c>, for example
/// <c>requests[socks] (&gt;=2.8, &lt;3) ; python_version &gt;= "3.7"</c> or
/// <c>pkg @ https://example.org/pkg-1.0.whl</c>. Parsed as packaging's <c>Requirement</c>.
/// </summary>
public sealed class Requirement : IEquatable<Requirement>
{
    private Requirement(string name, IReadOnlyList<string> extras, SpecifierSet specifier, string? url, Marker? marker)
    {
        Name = name;
        Extras = extras;
        Specifier = specifier;
        Url = url;
        Marker = marker;
    }

    /// <summary>The project name as written.</summary>
    public string Name { get; }

    public string NormalizedName => DistributionName.Normalize(Name);

    /// <summary>The extras as written, each once, in the order written; compare them through <see cref="DistributionName.Normalize"/>.</summary>
    public IReadOnlyList<string> Extras { get; }

    /// <summary>The version specifiers; empty for a URL requirement or an unconstrained one.</summary>
    public SpecifierSet Specifier { get; }

    /// <summary>The direct reference of <c>name @ url</c>, or null.</summary>
    public string? Url { get; }

    public Marker? Marker { get; }

    /// <summary>Parses a requirement; throws <see cref="InvalidRequirementException"/> with packaging's message.</summary>
    public static Requirement Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parsed = DependencySpecifierParser.ParseRequirement(text);
        SpecifierSet specifier;
        try
        {
            specifier = SpecifierSet.Parse(parsed.Specifier);
        }
        catch (InvalidSpecifierException e)
        {
            throw new InvalidRequirementException(text, e.Message);
        }
        return new Requirement(
            parsed.Name,
            parsed.Extras.Distinct(StringComparer.Ordinal).ToArray(),
            specifier,
            parsed.Url,
            parsed.Marker is null ? null : new Marker(parsed.Marker));
    }

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Requirement? requirement)
    {
        requirement = null;
        if (text is null) return false;
        try
        {
            requirement = Parse(text);
            return true;
        }
        catch (InvalidRequirementException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="extra"/> is one of <see cref="Extras"/>, compared normalized (PEP 685).</summary>
    public bool HasExtra(string extra) => Extras.Any(e => DistributionName.AreEquivalent(e, extra));

    /// <summary>
    /// The form packaging prints: extras sorted, specifiers sorted and without spaces,
    /// <c>name[a,b]&gt;=1.0,&lt;2; python_version &gt;= "3.7"</c> or <c>name@ url ; marker</c>.
    /// </summary>
    public override string ToString()
    {
        var text = new StringBuilder(Name);
        if (Extras.Count > 0)
            text.Append('[').AppendJoin(',', Extras.Order(Comparer<string>.Create(PythonText.CompareCodePoints))).Append(']');
        if (!Specifier.IsEmpty) text.Append(Specifier);
        if (Url is not null)
        {
            text.Append("@ ").Append(Url);
            if (Marker is not null) text.Append(' ');
        }
        if (Marker is not null) text.Append("; ").Append(Marker);
        return text.ToString();
    }

    /// <summary>Same normalized name, extras, specifiers, URL and marker.</summary>
    public bool Equals(Requirement? other) =>
        other is not null
        && NormalizedName == other.NormalizedName
        && Extras.ToHashSet(StringComparer.Ordinal).SetEquals(other.Extras)
        && Specifier.Equals(other.Specifier)
        && Url == other.Url
        && Equals(Marker, other.Marker);

    public override bool Equals(object? obj) => obj is Requirement other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(NormalizedName, Specifier, Url, Marker);
}
