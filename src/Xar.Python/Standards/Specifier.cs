using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Xar.Python.Standards;

/// <summary>The comparison of a PEP 440 version specifier.</summary>
public enum SpecifierOperator
{
    /// <summary><c>~=</c></summary>
    Compatible,
    /// <summary><c>==</c>, including prefix matching with <c>.*</c></summary>
    Equal,
    /// <summary><c>!=</c>, including prefix matching with <c>.*</c></summary>
    NotEqual,
    /// <summary><c>&lt;=</c></summary>
    LessThanOrEqual,
    /// <summary><c>&gt;=</c></summary>
    GreaterThanOrEqual,
    /// <summary><c>&lt;</c></summary>
    LessThan,
    /// <summary><c>&gt;</c></summary>
    GreaterThan,
    /// <summary><c>===</c>: arbitrary (string) equality</summary>
    ArbitraryEqual,
}

/// <summary>
/// One PEP 440 version specifier such as <c>~=1.4.2</c>, <c>!=1.*</c> or <c>===foo</c>, with
/// pypa/packaging's matching rules, including its handling of pre-releases and of unnormalized
/// spellings in the specifier's version (for example <c>~=2.2.r3</c> keeps <c>2.2.*</c> as its
/// prefix, and <c>~=v2.2</c> matches nothing, exactly as pip sees them).
/// </summary>
public sealed partial class Specifier : IEquatable<Specifier>
{
    // packaging's Specifier._operator_regex_str + _version_regex_str, matched against ASCII-folded
    // text. Each operator admits its own version syntax: === anything up to whitespace, ';' or ')';
    // == and != wildcards and local labels; ~= at least two release numbers; the others neither.
    private const string PreReleasePattern = @"(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?";
    private const string PostReleasePattern = @"(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?";
    private const string DevReleasePattern = @"(?:[-_.]?dev[-_.]?[0-9]*)?";

    internal const string OperatorAndVersionPattern =
        "(?<operator>~=|==|!=|<=|>=|<|>|===)" +
        "(?<version>" +
            "(?<====)" + PythonText.OptionalWhitespace + "[^" + PythonText.WhitespaceClass + ";)]*" +
        "|" +
            "(?<===|!=)" + PythonText.OptionalWhitespace + @"v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*" +
            @"(?:\.\*|" + PreReleasePattern + PostReleasePattern + DevReleasePattern + @"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?)?" +
        "|" +
            "(?<=~=)" + PythonText.OptionalWhitespace + @"v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)+" + PreReleasePattern + PostReleasePattern + DevReleasePattern +
        "|" +
            "(?<!==|!=|~=)" + PythonText.OptionalWhitespace + @"v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*" + PreReleasePattern + PostReleasePattern + DevReleasePattern +
        ")";

    [GeneratedRegex("^" + PythonText.OptionalWhitespace + OperatorAndVersionPattern + PythonText.OptionalWhitespace + "$", RegexOptions.ExplicitCapture)]
    private static partial Regex SpecifierPattern();

    [GeneratedRegex("^([0-9]+)((?:a|b|c|rc)[0-9]+)$")]
    private static partial Regex ReleaseWithPreReleasePattern();

    private readonly bool? _prereleases;
    private PythonVersion? _parsedVersion;

    private Specifier(string operatorText, string version, bool? prereleases)
    {
        OperatorText = operatorText;
        Operator = operatorText switch
        {
            "~=" => SpecifierOperator.Compatible,
            "==" => SpecifierOperator.Equal,
            "!=" => SpecifierOperator.NotEqual,
            "<=" => SpecifierOperator.LessThanOrEqual,
            ">=" => SpecifierOperator.GreaterThanOrEqual,
            "<" => SpecifierOperator.LessThan,
            ">" => SpecifierOperator.GreaterThan,
            _ => SpecifierOperator.ArbitraryEqual,
        };
        Version = version;
        _prereleases = prereleases;
    }

    public SpecifierOperator Operator { get; }

    /// <summary>The operator as written: <c>~=</c>, <c>==</c>, …</summary>
    public string OperatorText { get; }

    /// <summary>The version as written, whitespace trimmed (<c>1.*</c> keeps its wildcard).</summary>
    public string Version { get; }

    /// <summary>
    /// Whether pre-releases match: the override given to <see cref="Parse"/>, or else whether this
    /// is an inclusive operator (<c>== &gt;= &lt;= ~= ===</c>) whose version is itself a pre-release.
    /// </summary>
    public bool Prereleases
    {
        get
        {
            if (_prereleases is { } explicitValue) return explicitValue;
            if (Operator is not (SpecifierOperator.Equal or SpecifierOperator.GreaterThanOrEqual or SpecifierOperator.LessThanOrEqual
                or SpecifierOperator.Compatible or SpecifierOperator.ArbitraryEqual))
                return false;
            string version = Operator == SpecifierOperator.Equal && Version.EndsWith(".*", StringComparison.Ordinal) ? Version[..^2] : Version;
            // packaging raises InvalidVersion here for "===text" that is not a version; such a
            // specifier simply does not ask for pre-releases.
            return PythonVersion.TryParse(version, out var parsed) && parsed.IsPrerelease;
        }
    }

    /// <summary>The explicit pre-release override, if one was given.</summary>
    public bool? PrereleasesOverride => _prereleases;

    public static Specifier Parse(string text, bool? prereleases = null) =>
        TryParse(text, out var specifier, prereleases) ? specifier : throw new InvalidSpecifierException(text);

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Specifier? specifier, bool? prereleases = null)
    {
        specifier = null;
        if (text is null) return false;
        var match = SpecifierPattern().Match(PythonText.FoldAscii(text));
        if (!match.Success) return false;
        var version = match.Groups["version"];
        specifier = new Specifier(match.Groups["operator"].Value, PythonText.Strip(text.Substring(version.Index, version.Length)), prereleases);
        return true;
    }

    /// <summary>Whether <paramref name="version"/> satisfies this specifier.</summary>
    /// <param name="prereleases">Overrides <see cref="Prereleases"/> for this call.</param>
    public bool Contains(PythonVersion version, bool? prereleases = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (version.IsPrerelease && !(prereleases ?? Prereleases)) return false;
        return Operator switch
        {
            SpecifierOperator.Compatible => IsCompatible(version, Version),
            SpecifierOperator.Equal => IsEqual(version, Version),
            SpecifierOperator.NotEqual => !IsEqual(version, Version),
            SpecifierOperator.LessThanOrEqual => version.WithoutLocal() <= ParsedVersion,
            SpecifierOperator.GreaterThanOrEqual => version.WithoutLocal() >= ParsedVersion,
            SpecifierOperator.LessThan => IsLessThan(version, ParsedVersion),
            SpecifierOperator.GreaterThan => IsGreaterThan(version, ParsedVersion),
            _ => string.Equals(version.ToString().ToLowerInvariant(), Version.ToLowerInvariant(), StringComparison.Ordinal),
        };
    }

    /// <summary>Parses <paramref name="version"/> (throwing <see cref="InvalidVersionException"/>) and tests it.</summary>
    public bool Contains(string version, bool? prereleases = null) => Contains(PythonVersion.Parse(version), prereleases);

    /// <summary>
    /// The matching versions, in order. Unless pre-releases are allowed (by the argument or by
    /// <see cref="Prereleases"/>), matching pre-releases are returned only when nothing else matched.
    /// </summary>
    public IEnumerable<PythonVersion> Filter(IEnumerable<PythonVersion> versions, bool? prereleases = null) =>
        Filter(versions, static version => version, prereleases);

    /// <summary><see cref="Filter(IEnumerable{PythonVersion}, bool?)"/> over items that carry a version.</summary>
    public IEnumerable<T> Filter<T>(IEnumerable<T> items, Func<T, PythonVersion> versionOf, bool? prereleases = null)
    {
        bool yielded = false;
        var heldPrereleases = new List<T>();
        foreach (var item in items)
        {
            var version = versionOf(item);
            if (!Contains(version, prereleases ?? true)) continue;
            if (version.IsPrerelease && !((prereleases ?? false) || Prereleases))
            {
                heldPrereleases.Add(item);
            }
            else
            {
                yielded = true;
                yield return item;
            }
        }
        if (!yielded)
            foreach (var item in heldPrereleases) yield return item;
    }

    /// <summary>The specifier as written, without whitespace: <c>&gt;=1.0</c>.</summary>
    public override string ToString() => OperatorText + Version;

    /// <summary>
    /// Equality as packaging defines it: same operator, and the same canonical version (trailing
    /// zeros dropped except for <c>~=</c>, whose length matters). The pre-release override is not compared.
    /// </summary>
    public bool Equals(Specifier? other) => other is not null && OperatorText == other.OperatorText && CanonicalVersion == other.CanonicalVersion;

    public override bool Equals(object? obj) => obj is Specifier other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(OperatorText, CanonicalVersion);

    // The version of an ordered comparison, which the pattern guarantees is a PEP 440 version.
    private PythonVersion ParsedVersion => _parsedVersion ??= PythonVersion.Parse(Version);

    private string CanonicalVersion => CanonicalizeVersion(Version, stripTrailingZero: Operator != SpecifierOperator.Compatible);

    // ~=X.Y.Z is >=X.Y.Z together with ==X.Y.*: the prefix drops the last release number and any
    // suffix. Like packaging, this works on the text as written.
    private static bool IsCompatible(PythonVersion version, string specVersion)
    {
        var components = SplitVersion(specVersion).TakeWhile(IsNotSuffix).ToList();
        components.RemoveAt(components.Count - 1);
        string prefix = JoinVersion(components) + ".*";
        return version.WithoutLocal() >= PythonVersion.Parse(specVersion) && IsEqual(version, prefix);
    }

    private static bool IsEqual(PythonVersion version, string specVersion)
    {
        if (specVersion.EndsWith(".*", StringComparison.Ordinal))
        {
            // Prefix matching ignores the local label, and pads the candidate's release with zeros
            // so that 1.0 matches ==1.0.0.*.
            var splitSpec = SplitVersion(CanonicalizeVersion(specVersion[..^2], stripTrailingZero: false));
            var splitCandidate = SplitVersion(version.Public);
            var padded = PadRelease(splitCandidate, splitSpec);
            return padded.Count >= splitSpec.Count && padded.Take(splitSpec.Count).SequenceEqual(splitSpec, StringComparer.Ordinal);
        }
        var spec = PythonVersion.Parse(specVersion);
        // Without a local label in the specifier, the candidate's local label is ignored.
        return (spec.Local is null ? version.WithoutLocal() : version) == spec;
    }

    // <V excludes pre-releases of V itself unless V is a pre-release: <3.1 does not match 3.1.dev0.
    private static bool IsLessThan(PythonVersion version, PythonVersion spec)
    {
        if (!(version < spec)) return false;
        return spec.IsPrerelease || !version.IsPrerelease || version.WithoutSuffixes() != spec.WithoutSuffixes();
    }

    // >V excludes post-releases of V unless V is one, and local versions of V's release.
    private static bool IsGreaterThan(PythonVersion version, PythonVersion spec)
    {
        if (!(version > spec)) return false;
        if (!spec.IsPostrelease && version.IsPostrelease && version.WithoutSuffixes() == spec.WithoutSuffixes()) return false;
        return version.Local is null || version.WithoutSuffixes() != spec.WithoutSuffixes();
    }

    /// <summary>packaging's <c>canonicalize_version</c> on text: text that is not a version is returned unchanged.</summary>
    internal static string CanonicalizeVersion(string text, bool stripTrailingZero) =>
        PythonVersion.TryParse(text, out var version) ? version.ToCanonicalString(stripTrailingZero) : text;

    // packaging's _version_split: epoch first ("0" when absent), then the dot-separated parts, with
    // an implicit dot between a release number and a following pre-release ("2rc1" -> "2", "rc1").
    private static List<string> SplitVersion(string version)
    {
        int bang = version.LastIndexOf('!');
        var result = new List<string> { bang > 0 ? version[..bang] : "0" };
        foreach (string item in version[(bang + 1)..].Split('.'))
        {
            var match = ReleaseWithPreReleasePattern().Match(item);
            if (match.Success)
            {
                result.Add(match.Groups[1].Value);
                result.Add(match.Groups[2].Value);
            }
            else
            {
                result.Add(item);
            }
        }
        return result;
    }

    private static string JoinVersion(List<string> components) => components[0] + "!" + string.Join('.', components.Skip(1));

    private static bool IsNotSuffix(string segment) =>
        !(segment.StartsWith("dev", StringComparison.Ordinal) || segment.StartsWith('a') || segment.StartsWith('b')
          || segment.StartsWith("rc", StringComparison.Ordinal) || segment.StartsWith("post", StringComparison.Ordinal));

    // packaging's _pad_version, left side only: zero-pad the leading all-digit run (the epoch and
    // release) of `left` to the length of the one in `right`.
    private static List<string> PadRelease(List<string> left, List<string> right)
    {
        int leftRelease = left.TakeWhile(PythonText.IsAsciiDigits).Count();
        int rightRelease = right.TakeWhile(PythonText.IsAsciiDigits).Count();
        var padded = new List<string>(left.Take(leftRelease));
        padded.AddRange(Enumerable.Repeat("0", Math.Max(0, rightRelease - leftRelease)));
        padded.AddRange(left.Skip(leftRelease));
        return padded;
    }
}
