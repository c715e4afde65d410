using System.Text.RegularExpressions;

namespace Xar.Python.Standards;

/// <summary>
/// Project and extra names: PEP 503 normalization (runs of <c>-</c>, <c>_</c>, <c>.</c> become one
/// <c>-</c>, then lowercase), which PEP 685 also applies to extras, and the core metadata rule for
/// what a valid name is.
/// </summary>
public static partial class DistributionName
{
    [GeneratedRegex("[-_.]+")]
    private static partial Regex SeparatorRun();

    [GeneratedRegex("^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")]
    private static partial Regex ValidName();

    [GeneratedRegex("^([a-z0-9]|[a-z0-9]([a-z0-9-](?!--))*[a-z0-9])$")]
    private static partial Regex NormalizedName();

    /// <summary>The PEP 503 normalized form: <c>Foo.Bar__baz</c> → <c>foo-bar-baz</c>.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return SeparatorRun().Replace(name, "-").ToLowerInvariant();
    }

    /// <summary>Whether two names denote the same project (or extra).</summary>
    public static bool AreEquivalent(string left, string right) => Normalize(left) == Normalize(right);

    /// <summary>Whether <paramref name="name"/> is a valid project name: ASCII letters and digits, with <c>. _ -</c> inside.</summary>
    public static bool IsValid(string name) => ValidName().IsMatch(name);

    /// <summary>Whether <paramref name="name"/> is already in normalized form.</summary>
    public static bool IsNormalized(string name) => NormalizedName().IsMatch(name);
}
