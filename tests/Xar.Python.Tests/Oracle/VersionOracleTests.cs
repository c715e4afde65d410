using System.Text.Encodings.Web;
using System.Text.Json;
using Xar.Python.Standards;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// Thousands of seeded random version strings, and thousands of specifiers against a pool of
/// versions, compared with packaging: validity, normalized form and parts, total order,
/// containment under each pre-release mode, filtering, and printed forms.
/// </summary>
public class VersionOracleTests
{
    private const int Seed = 440;

    [Fact]
    public void VersionsAgreeWithPackaging()
    {
        var spellings = new RandomSpellings(Seed);
        string[] texts = [.. Enumerable.Range(0, 4000).Select(_ => spellings.Version()), .. VersionTests.Ordered];

        using var answer = PackagingOracle.Run("versions.py", writer =>
        {
            writer.WriteStartObject();
            WriteStrings(writer, "versions", texts);
            writer.WriteEndObject();
        });

        var mismatches = new List<string>();
        var ranked = new List<(PythonVersion Version, int Rank)>();
        foreach (var (text, expected) in texts.Zip(answer.RootElement.EnumerateArray()))
        {
            bool valid = PythonVersion.TryParse(text, out var version);
            if (valid != (expected.ValueKind != JsonValueKind.Null))
            {
                mismatches.Add($"'{Escape(text)}': valid {valid}, packaging says {!valid}");
                continue;
            }
            if (version is null) continue;

            Compare(mismatches, text, "str", version.ToString(), expected.GetProperty("str").GetString());
            Compare(mismatches, text, "public", version.Public, expected.GetProperty("public").GetString());
            Compare(mismatches, text, "base_version", version.BaseVersion, expected.GetProperty("base_version").GetString());
            Compare(mismatches, text, "epoch", version.Epoch.ToString(), expected.GetProperty("epoch").GetString());
            Compare(mismatches, text, "release", string.Join(",", version.Release), string.Join(",", expected.GetProperty("release").EnumerateArray().Select(e => e.GetString())));
            Compare(mismatches, text, "pre", version.Pre?.ToString(), expected.GetProperty("pre").GetString());
            Compare(mismatches, text, "post", version.Post?.ToString(), expected.GetProperty("post").GetString());
            Compare(mismatches, text, "dev", version.Dev?.ToString(), expected.GetProperty("dev").GetString());
            Compare(mismatches, text, "local", version.Local, expected.GetProperty("local").GetString());
            Compare(mismatches, text, "is_prerelease", version.IsPrerelease, expected.GetProperty("is_prerelease").GetBoolean());
            Compare(mismatches, text, "is_postrelease", version.IsPostrelease, expected.GetProperty("is_postrelease").GetBoolean());
            Compare(mismatches, text, "is_devrelease", version.IsDevrelease, expected.GetProperty("is_devrelease").GetBoolean());
            ranked.Add((version, expected.GetProperty("rank").GetInt32()));
        }

        // Packaging's ranks are positions in its sorted, de-duplicated list: ours must sort the
        // versions into the same sequence of equal groups.
        var ourOrder = ranked.OrderBy(r => r.Version).ToList();
        for (int i = 1; i < ourOrder.Count; i++)
        {
            var (previous, current) = (ourOrder[i - 1], ourOrder[i]);
            int ours = Math.Sign(previous.Version.CompareTo(current.Version));
            int theirs = Math.Sign(previous.Rank.CompareTo(current.Rank));
            if (ours != theirs)
                mismatches.Add($"order of {previous.Version} and {current.Version}: ours {ours}, packaging {theirs}");
            if (ours == 0 && previous.Version.GetHashCode() != current.Version.GetHashCode())
                mismatches.Add($"{previous.Version} == {current.Version} but their hashes differ");
        }

        mismatches.Should().BeEmpty(string.Join("\n", mismatches.Take(30)));
        ranked.Count.Should().BeInRange(texts.Length * 7 / 10, texts.Length * 95 / 100, "the generator makes mostly valid versions, and some invalid ones");
        ranked.Select(r => r.Rank).Distinct().Count().Should().BeLessThan(ranked.Count, "some spellings are equal versions");
    }

    [Fact]
    public void SpecifiersAgreeWithPackaging()
    {
        var spellings = new RandomSpellings(Seed + 1);
        string[] pool = [.. Enumerable.Range(0, 40).Select(_ => spellings.SmallVersion()).Distinct()];
        string[] specifiers = [.. Enumerable.Range(0, 500).Select(_ => spellings.Specifier())];
        string[] sets = [.. Enumerable.Range(0, 200).Select(_ => spellings.SpecifierSet())];

        using var answer = PackagingOracle.Run("specifiers.py", writer =>
        {
            writer.WriteStartObject();
            WriteStrings(writer, "pool", pool);
            WriteStrings(writer, "specifiers", specifiers);
            WriteStrings(writer, "sets", sets);
            writer.WriteEndObject();
        });

        var versions = pool.Select(PythonVersion.Parse).ToArray();
        var mismatches = new List<string>();
        int valid = 0, arbitraryErrors = 0;
        foreach (var (text, expected) in specifiers.Zip(answer.RootElement.GetProperty("specifiers").EnumerateArray()))
        {
            if (!CompareValidity(mismatches, text, Specifier.TryParse(text, out var specifier), expected) || specifier is null) continue;
            valid++;
            Compare(mismatches, text, "str", specifier.ToString(), expected.GetProperty("str").GetString());
            // packaging raises InvalidVersion computing `prereleases` for "===text" when the text
            // is not a version; ours answers "no pre-releases" (see Specifier.Prereleases).
            bool arbitraryText = specifier.Operator == SpecifierOperator.ArbitraryEqual && !PythonVersion.TryParse(specifier.Version, out _);
            if (arbitraryText && expected.GetProperty("prereleases").GetString() == "E")
            {
                arbitraryErrors++;
                continue;
            }
            Compare(mismatches, text, "prereleases", specifier.Prereleases ? "1" : "0", expected.GetProperty("prereleases").GetString());
            CompareContainment(mismatches, text, versions, specifier.Contains, expected);
            CompareFilters(mismatches, text, versions, specifier.Filter, expected);
        }

        int validSets = 0;
        foreach (var (text, expected) in sets.Zip(answer.RootElement.GetProperty("sets").EnumerateArray()))
        {
            if (!CompareValidity(mismatches, text, SpecifierSet.TryParse(text, out var set), expected) || set is null) continue;
            if (set.Specifiers.Any(s => s.Operator == SpecifierOperator.ArbitraryEqual && !PythonVersion.TryParse(s.Version, out _))) continue;
            validSets++;
            Compare(mismatches, text, "str", set.ToString(), expected.GetProperty("str").GetString());
            Compare(mismatches, text, "prereleases", set.Prereleases switch { null => null, true => "1", false => "0" }, expected.GetProperty("prereleases").GetString());
            CompareContainment(mismatches, text, versions, set.Contains, expected);
            CompareFilters(mismatches, text, versions, set.Filter, expected);
        }

        mismatches.Should().BeEmpty(string.Join("\n", mismatches.Take(30)));
        valid.Should().BeGreaterThan(specifiers.Length * 6 / 10);
        validSets.Should().BeGreaterThan(sets.Length / 3);
        arbitraryErrors.Should().BeGreaterThan(0, "the generator covers === with text that is not a version");
    }

    private static readonly bool?[] Modes = [null, true, false];

    private static void CompareContainment(List<string> mismatches, string text, PythonVersion[] versions, Func<PythonVersion, bool?, bool> contains, JsonElement expected)
    {
        string theirs = expected.GetProperty("contains").GetString()!;
        string ours = string.Concat(versions.SelectMany(v => Modes.Select(mode => contains(v, mode) ? '1' : '0')));
        if (ours == theirs) return;
        int at = Enumerable.Range(0, ours.Length).First(i => ours[i] != theirs[i]);
        mismatches.Add($"'{Escape(text)}' contains {versions[at / Modes.Length]} (prereleases {Modes[at % Modes.Length]?.ToString() ?? "None"}): ours {ours[at]}, packaging {theirs[at]}");
    }

    private static void CompareFilters(List<string> mismatches, string text, PythonVersion[] versions,
        Func<IEnumerable<PythonVersion>, bool?, IEnumerable<PythonVersion>> filter, JsonElement expected)
    {
        foreach (var (mode, theirs) in Modes.Zip(expected.GetProperty("filter").EnumerateArray()))
        {
            string ours = string.Join(",", filter(versions, mode).Select(v => Array.IndexOf(versions, v)));
            string packaging = theirs.ValueKind == JsonValueKind.String ? "E" : string.Join(",", theirs.EnumerateArray().Select(i => i.GetInt32()));
            if (ours != packaging) mismatches.Add($"'{Escape(text)}' filter (prereleases {mode?.ToString() ?? "None"}): ours [{ours}], packaging [{packaging}]");
        }
    }

    private static bool CompareValidity(List<string> mismatches, string text, bool valid, JsonElement expected)
    {
        bool theirs = expected.ValueKind != JsonValueKind.Null;
        if (valid != theirs) mismatches.Add($"'{Escape(text)}': valid {valid}, packaging says {theirs}");
        return valid && theirs;
    }

    internal static void Compare<T>(List<string> mismatches, string text, string what, T ours, T theirs)
    {
        if (!EqualityComparer<T>.Default.Equals(ours, theirs))
            mismatches.Add($"'{Escape(text)}' {what}: ours '{ours}', packaging '{theirs}'");
    }

    internal static void WriteStrings(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (string value in values) writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    // Whitespace and control characters are shown escaped; everything else as is.
    internal static string Escape(string text) => JsonEncodedText.Encode(text, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();
}
