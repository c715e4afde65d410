using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace Xar.Python.Standards;

/// <summary>A PEP 440 pre-release segment: <see cref="Label"/> is "a", "b" or "rc" after normalization.</summary>
public readonly record struct PreRelease(string Label, BigInteger Number)
{
    public override string ToString() => Label + Number.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A PEP 440 version, parsed and normalized the way pypa/packaging's <c>Version</c> does it:
/// <c>1.0a1</c>, <c>1.0.a.1</c>, <c>1.0alpha1</c> and <c>V1.0-A1</c> are one version, an implicit
/// post-release (<c>1.0-1</c>) is <c>1.0.post1</c>, local labels are lowercased and split on
/// <c>. _ -</c>. Ordering and equality follow packaging's comparison key: trailing zeros of the
/// release do not count, dev &lt; pre &lt; final &lt; post within a release, and a local version
/// sorts after its public version. Numbers are unbounded, as in Python.
/// </summary>
public sealed partial class PythonVersion : IEquatable<PythonVersion>, IComparable<PythonVersion>, IComparable
{
    // packaging's VERSION_PATTERN, anchored and matched against the ASCII-folded text (so no
    // IgnoreCase, whose .NET Unicode equivalences differ from Python's) with Python's \s.

    [GeneratedRegex(
        "^" + PythonText.OptionalWhitespace + "v?" +
        @"(?:(?<epoch>[0-9]+)!)?" +
        @"(?<release>[0-9]+(?:\.[0-9]+)*)" +
        @"(?:[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?" +
        @"(?:-(?<post_n1>[0-9]+)|[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?)?" +
        @"(?:[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?" +
        @"(?:\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?" +
        PythonText.OptionalWhitespace + "$",
        RegexOptions.ExplicitCapture)]
    private static partial Regex VersionPattern();

    private readonly BigInteger[] _release;
    private readonly LocalPart[]? _local;
    private readonly int _significantReleaseLength;
    private readonly string _text;

    private PythonVersion(BigInteger epoch, BigInteger[] release, PreRelease? pre, BigInteger? post, BigInteger? dev, LocalPart[]? local)
    {
        Epoch = epoch;
        _release = release;
        Pre = pre;
        Post = post;
        Dev = dev;
        _local = local;
        _significantReleaseLength = release.Length;
        while (_significantReleaseLength > 0 && release[_significantReleaseLength - 1].IsZero) _significantReleaseLength--;
        _text = Format(stripTrailingZero: false);
    }

    public BigInteger Epoch { get; }

    /// <summary>The release segment as written (trailing zeros kept, leading zeros of each number dropped).</summary>
    public IReadOnlyList<BigInteger> Release => _release;

    public PreRelease? Pre { get; }

    public BigInteger? Post { get; }

    public BigInteger? Dev { get; }

    /// <summary>The normalized local label (<c>ubuntu.1</c> for <c>+Ubuntu-01</c>), or null.</summary>
    public string? Local => _local is null ? null : string.Join('.', _local);

    /// <summary>A pre-release in the specifier sense: it has a pre-release or a dev segment.</summary>
    public bool IsPrerelease => Dev is not null || Pre is not null;

    public bool IsPostrelease => Post is not null;

    public bool IsDevrelease => Dev is not null;

    /// <summary>The normalized version without its local label.</summary>
    public string Public => _local is null ? _text : _text[.._text.IndexOf('+')];

    /// <summary>Epoch and release only: <c>1!2.0</c> for <c>1!2.0rc1.post2+x</c>.</summary>
    public string BaseVersion
    {
        get
        {
            var text = new StringBuilder();
            AppendEpochAndRelease(text, stripTrailingZero: false);
            return text.ToString();
        }
    }

    public static PythonVersion Parse(string text) =>
        TryParse(text, out var version) ? version : throw new InvalidVersionException(text);

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out PythonVersion? version)
    {
        version = null;
        if (text is null) return false;
        var match = VersionPattern().Match(PythonText.FoldAscii(text));
        if (!match.Success) return false;

        var epoch = match.Groups["epoch"];
        var release = match.Groups["release"].Value.Split('.').Select(ParseNumber).ToArray();
        PreRelease? pre = match.Groups["pre_l"].Success
            ? new PreRelease(NormalizePreLabel(match.Groups["pre_l"].Value), NumberOrZero(match.Groups["pre_n"]))
            : null;
        BigInteger? post = match.Groups["post_n1"].Success ? ParseNumber(match.Groups["post_n1"].Value)
            : match.Groups["post_l"].Success ? NumberOrZero(match.Groups["post_n2"])
            : null;
        BigInteger? dev = match.Groups["dev_l"].Success ? NumberOrZero(match.Groups["dev_n"]) : null;
        var local = match.Groups["local"];

        version = new PythonVersion(
            epoch.Success ? ParseNumber(epoch.Value) : BigInteger.Zero,
            release,
            pre,
            post,
            dev,
            local.Success ? ParseLocal(local.Value) : null);
        return true;
    }

    /// <summary>This version without its local label.</summary>
    public PythonVersion WithoutLocal() => _local is null ? this : new PythonVersion(Epoch, _release, Pre, Post, Dev, null);

    /// <summary>The epoch and release only, as a version: what <see cref="BaseVersion"/> parses to.</summary>
    public PythonVersion WithoutSuffixes() =>
        Pre is null && Post is null && Dev is null && _local is null ? this : new PythonVersion(Epoch, _release, null, null, null, null);

    /// <summary>The normalized form: <c>1!2.0rc1.post2.dev3+abc.4</c>.</summary>
    public override string ToString() => _text;

    /// <summary>
    /// packaging's <c>canonicalize_version</c>: the normalized form, with trailing <c>.0</c>s of the
    /// release removed when <paramref name="stripTrailingZero"/> is set.
    /// </summary>
    public string ToCanonicalString(bool stripTrailingZero = true) => stripTrailingZero ? Format(stripTrailingZero: true) : _text;

    public int CompareTo(PythonVersion? other)
    {
        if (other is null) return 1;
        if (ReferenceEquals(this, other)) return 0;

        int result = Epoch.CompareTo(other.Epoch);
        if (result != 0) return result;

        int common = Math.Min(_significantReleaseLength, other._significantReleaseLength);
        for (int i = 0; i < common; i++)
        {
            result = _release[i].CompareTo(other._release[i]);
            if (result != 0) return result;
        }
        result = _significantReleaseLength.CompareTo(other._significantReleaseLength);
        if (result != 0) return result;

        result = ComparePre(other);
        if (result != 0) return result;

        // No post segment sorts before any post segment.
        result = (Post, other.Post) switch
        {
            (null, null) => 0,
            (null, _) => -1,
            (_, null) => 1,
            ({ } a, { } b) => a.CompareTo(b),
        };
        if (result != 0) return result;

        // No dev segment sorts after any dev segment.
        result = (Dev, other.Dev) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            ({ } a, { } b) => a.CompareTo(b),
        };
        if (result != 0) return result;

        return CompareLocal(_local, other._local);
    }

    public int CompareTo(object? obj) => obj switch
    {
        null => 1,
        PythonVersion version => CompareTo(version),
        _ => throw new ArgumentException($"Cannot compare a {nameof(PythonVersion)} with a {obj.GetType().Name}.", nameof(obj)),
    };

    public bool Equals(PythonVersion? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is PythonVersion other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Epoch);
        for (int i = 0; i < _significantReleaseLength; i++) hash.Add(_release[i]);
        hash.Add(PreKind());
        hash.Add(Pre);
        hash.Add(Post);
        hash.Add(Dev);
        if (_local is not null)
            foreach (var part in _local) hash.Add(part);
        return hash.ToHashCode();
    }

    public static bool operator ==(PythonVersion? left, PythonVersion? right) => left is null ? right is null : left.Equals(right);
    public static bool operator !=(PythonVersion? left, PythonVersion? right) => !(left == right);
    public static bool operator <(PythonVersion? left, PythonVersion? right) => Compare(left, right) < 0;
    public static bool operator <=(PythonVersion? left, PythonVersion? right) => Compare(left, right) <= 0;
    public static bool operator >(PythonVersion? left, PythonVersion? right) => Compare(left, right) > 0;
    public static bool operator >=(PythonVersion? left, PythonVersion? right) => Compare(left, right) >= 0;

    private static int Compare(PythonVersion? left, PythonVersion? right) =>
        left is null ? (right is null ? 0 : -1) : left.CompareTo(right);

    // packaging's key abuses the pre-release slot so that 1.0.dev0 sorts before 1.0a0: a version
    // with only a dev segment counts as "below every pre-release", one without a pre-release as
    // "above every pre-release".
    private int PreKind() => Pre is not null ? 0 : Post is null && Dev is not null ? -1 : 1;

    private int ComparePre(PythonVersion other)
    {
        int kind = PreKind(), otherKind = other.PreKind();
        if (kind != otherKind) return kind.CompareTo(otherKind);
        if (kind != 0) return 0;
        var (a, b) = (Pre!.Value, other.Pre!.Value);
        int byLabel = string.CompareOrdinal(a.Label, b.Label);
        return byLabel != 0 ? byLabel : a.Number.CompareTo(b.Number);
    }

    // No local label sorts first; otherwise part by part, where a string part sorts before a
    // number, strings compare by code point, numbers numerically, and a prefix sorts first.
    private static int CompareLocal(LocalPart[]? left, LocalPart[]? right)
    {
        if (left is null || right is null) return (left is not null).CompareTo(right is not null);
        int common = Math.Min(left.Length, right.Length);
        for (int i = 0; i < common; i++)
        {
            int result = left[i].CompareTo(right[i]);
            if (result != 0) return result;
        }
        return left.Length.CompareTo(right.Length);
    }

    private string Format(bool stripTrailingZero)
    {
        var text = new StringBuilder();
        AppendEpochAndRelease(text, stripTrailingZero);
        if (Pre is { } pre) text.Append(pre.ToString());
        if (Post is { } post) text.Append(".post").Append(post.ToString(CultureInfo.InvariantCulture));
        if (Dev is { } dev) text.Append(".dev").Append(dev.ToString(CultureInfo.InvariantCulture));
        if (_local is not null) text.Append('+').Append(Local);
        return text.ToString();
    }

    private void AppendEpochAndRelease(StringBuilder text, bool stripTrailingZero)
    {
        if (!Epoch.IsZero) text.Append(Epoch.ToString(CultureInfo.InvariantCulture)).Append('!');
        // canonicalize_version strips "(\.0)+$" from the joined release, so a lone "0" stays.
        int length = stripTrailingZero ? Math.Max(1, _significantReleaseLength) : _release.Length;
        for (int i = 0; i < length; i++)
        {
            if (i > 0) text.Append('.');
            text.Append(_release[i].ToString(CultureInfo.InvariantCulture));
        }
    }

    private static string NormalizePreLabel(string label) => label switch
    {
        "alpha" => "a",
        "beta" => "b",
        "c" or "pre" or "preview" => "rc",
        _ => label,
    };

    private static BigInteger NumberOrZero(Group group) => group.Success ? ParseNumber(group.Value) : BigInteger.Zero;

    private static BigInteger ParseNumber(string digits) => BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);

    private static LocalPart[] ParseLocal(string local) =>
        local.Split(['.', '_', '-']).Select(part => PythonText.IsAsciiDigits(part)
            ? new LocalPart(ParseNumber(part), null)
            : new LocalPart(default, part)).ToArray();

    /// <summary>One part of a local label: a number, or (when <see cref="Text"/> is set) lowercase text.</summary>
    private readonly record struct LocalPart(BigInteger Number, string? Text) : IComparable<LocalPart>
    {
        public int CompareTo(LocalPart other) => (Text, other.Text) switch
        {
            (null, null) => Number.CompareTo(other.Number),
            (null, _) => 1,
            (_, null) => -1,
            ({ } a, { } b) => string.CompareOrdinal(a, b),
        };

        public override string ToString() => Text ?? Number.ToString(CultureInfo.InvariantCulture);
    }
}
