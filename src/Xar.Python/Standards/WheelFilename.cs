using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Xar.Python.Standards;

/// <summary>
/// A PEP 427 build tag: a number, then any text. Wheels of one version that differ only in build
/// tag prefer the larger tag; a wheel without one sorts before every tagged wheel.
/// </summary>
public readonly record struct WheelBuildTag(BigInteger Number, string Suffix) : IComparable<WheelBuildTag>
{
    public int CompareTo(WheelBuildTag other)
    {
        int byNumber = Number.CompareTo(other.Number);
        return byNumber != 0 ? byNumber : PythonText.CompareCodePoints(Suffix, other.Suffix);
    }

    public override string ToString() => Number.ToString(CultureInfo.InvariantCulture) + Suffix;
}

/// <summary>
/// A PEP 427 wheel file name, <c>{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl</c>,
/// parsed as packaging's <c>parse_wheel_filename</c> does; the tag triple may be compressed
/// (<c>py2.py3-none-any</c>) and is expanded into <see cref="Tags"/>.
/// </summary>
public sealed partial class WheelFilename
{
    [GeneratedRegex(@"^[\w._]+$")]
    private static partial Regex EscapedName();

    [GeneratedRegex("^([0-9]+)(.*)$", RegexOptions.Singleline)]
    private static partial Regex BuildTagPattern();

    private WheelFilename(string fileName, string name, PythonVersion version, WheelBuildTag? buildTag, IReadOnlyList<WheelTag> tags)
    {
        FileName = fileName;
        Name = name;
        Version = version;
        BuildTag = buildTag;
        Tags = tags;
    }

    /// <summary>The file name as given.</summary>
    public string FileName { get; }

    /// <summary>The project name as spelled in the file name (escaped: <c>-</c> became <c>_</c>).</summary>
    public string Name { get; }

    public string NormalizedName => DistributionName.Normalize(Name);

    public PythonVersion Version { get; }

    public WheelBuildTag? BuildTag { get; }

    /// <summary>The expanded compatibility tags, in the order the compressed set lists them.</summary>
    public IReadOnlyList<WheelTag> Tags { get; }

    /// <summary>Parses a file name (not a path); throws <see cref="InvalidWheelFilenameException"/>.</summary>
    public static WheelFilename Parse(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        if (!fileName.EndsWith(".whl", StringComparison.Ordinal))
            throw new InvalidWheelFilenameException(fileName, "the extension must be '.whl'");

        string stem = fileName[..^4];
        int dashes = stem.Count(c => c == '-');
        if (dashes is not (4 or 5))
            throw new InvalidWheelFilenameException(fileName, "expected name-version(-build)?-python-abi-platform");

        string[] parts = stem.Split('-', dashes - 1);
        string name = parts[0];
        // PEP 427 escapes each run of non-alphanumerics in the name as one '_'.
        if (name.Contains("__", StringComparison.Ordinal) || !EscapedName().IsMatch(name))
            throw new InvalidWheelFilenameException(fileName, $"invalid project name '{name}'");

        if (!PythonVersion.TryParse(parts[1], out var version))
            throw new InvalidWheelFilenameException(fileName, $"invalid version '{parts[1]}'");

        WheelBuildTag? buildTag = null;
        if (dashes == 5)
        {
            var match = BuildTagPattern().Match(parts[2]);
            if (!match.Success)
                throw new InvalidWheelFilenameException(fileName, $"invalid build tag '{parts[2]}': it must start with a digit");
            buildTag = new WheelBuildTag(BigInteger.Parse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture), match.Groups[2].Value);
        }

        return new WheelFilename(fileName, name, version, buildTag, WheelTag.ParseCompressed(parts[^1]));
    }

    public static bool TryParse([NotNullWhen(true)] string? fileName, [NotNullWhen(true)] out WheelFilename? wheel)
    {
        wheel = null;
        if (fileName is null) return false;
        try
        {
            wheel = Parse(fileName);
            return true;
        }
        catch (InvalidWheelFilenameException)
        {
            return false;
        }
    }

    public override string ToString() => FileName;
}
