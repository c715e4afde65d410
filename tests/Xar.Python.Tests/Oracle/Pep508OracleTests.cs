using System.Text.Json;
using Xar.Python.Standards;
using static Xar.Python.Tests.Oracle.VersionOracleTests;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// Seeded random markers and requirements compared with packaging: validity, printed forms, the
/// parts of each requirement, and every marker's value in five environments with three extras.
/// </summary>
public class Pep508OracleTests
{
    private const int Seed = 508;

    private static readonly MarkerEnvironment[] Environments =
    [
        MarkerTests.Linux311,
        MarkerTests.Linux311 with
        {
            SysPlatform = "linux2", PythonVersion = "2.7", PythonFullVersion = "2.7.18", ImplementationName = "", ImplementationVersion = "0",
        },
        MarkerTests.Linux311 with
        {
            PlatformMachine = "aarch64", PlatformRelease = "5.15.0", PythonVersion = "3.13", PythonFullVersion = "3.13.0rc1",
            ImplementationVersion = "3.13.0rc1",
        },
        MarkerTests.Linux311 with
        {
            OsName = "nt", SysPlatform = "win32", PlatformSystem = "Windows", PlatformRelease = "10", PlatformMachine = "AMD64",
            PlatformVersion = "10.0.19041", PythonVersion = "3.12", PythonFullVersion = "3.12.1", ImplementationVersion = "3.12.1",
        },
        MarkerTests.Linux311 with
        {
            SysPlatform = "darwin", PlatformSystem = "Darwin", PlatformRelease = "23.1.0", PlatformMachine = "arm64",
            PlatformPythonImplementation = "PyPy", PythonVersion = "3.10", PythonFullVersion = "3.10.13", ImplementationName = "pypy",
            ImplementationVersion = "7.3.15",
        },
    ];

    private static readonly string[] Extras = ["", "test", "Foo_Bar"];

    [Fact]
    public void MarkersAndRequirementsAgreeWithPackaging()
    {
        var spellings = new RandomSpellings(Seed);
        string[] markers = [.. Enumerable.Range(0, 900).Select(_ => spellings.Marker())];
        string[] requirements = [.. Enumerable.Range(0, 900).Select(_ => spellings.Requirement())];

        using var answer = PackagingOracle.Run("pep508.py", writer =>
        {
            writer.WriteStartObject();
            WriteStrings(writer, "markers", markers);
            WriteStrings(writer, "requirements", requirements);
            WriteStrings(writer, "extras", Extras);
            writer.WriteStartArray("environments");
            foreach (var environment in Environments)
            {
                writer.WriteStartObject();
                foreach (string name in MarkerEnvironment.VariableNames) writer.WriteString(name, environment.Get(name));
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

        var mismatches = new List<string>();
        var outcomes = new Dictionary<char, int>();
        int validMarkers = 0;
        foreach (var (text, expected) in markers.Zip(answer.RootElement.GetProperty("markers").EnumerateArray()))
        {
            if (!CompareValidity(mismatches, text, Marker.TryParse(text, out var marker), expected) || marker is null) continue;
            validMarkers++;
            Compare(mismatches, text, "str", marker.ToString(), expected.GetProperty("str").GetString());
            string theirs = expected.GetProperty("results").GetString()!;
            int index = 0;
            foreach (var environment in Environments)
                foreach (string extra in Extras)
                {
                    char packaging = theirs[index++];
                    outcomes[packaging] = outcomes.GetValueOrDefault(packaging) + 1;
                    char ours;
                    try
                    {
                        ours = marker.Evaluate(environment, extra) ? '1' : '0';
                    }
                    catch (MarkerEvaluationException)
                    {
                        ours = 'U';
                    }
                    // 'V': packaging raised InvalidVersion comparing a non-version with a version
                    // specifier, where PEP 508 (and we) fall back to Python's string operators.
                    if (packaging != 'V' && ours != packaging)
                        mismatches.Add($"'{Escape(text)}' in environment {Array.IndexOf(Environments, environment)} with extra '{extra}': ours {ours}, packaging {packaging}");
                }
        }

        int validRequirements = 0;
        foreach (var (text, expected) in requirements.Zip(answer.RootElement.GetProperty("requirements").EnumerateArray()))
        {
            if (!CompareValidity(mismatches, text, Requirement.TryParse(text, out var requirement), expected) || requirement is null) continue;
            validRequirements++;
            Compare(mismatches, text, "name", requirement.Name, expected.GetProperty("name").GetString());
            Compare(mismatches, text, "extras", string.Join(",", requirement.Extras.Order(StringComparer.Ordinal)),
                string.Join(",", expected.GetProperty("extras").EnumerateArray().Select(e => e.GetString())));
            Compare(mismatches, text, "specifier", requirement.Specifier.ToString(), expected.GetProperty("specifier").GetString());
            Compare(mismatches, text, "url", requirement.Url, expected.GetProperty("url").GetString());
            Compare(mismatches, text, "marker", requirement.Marker?.ToString(), expected.GetProperty("marker").GetString());
            Compare(mismatches, text, "str", requirement.ToString(), expected.GetProperty("str").GetString());
        }

        mismatches.Should().BeEmpty(string.Join("\n", mismatches.Take(30)));
        validMarkers.Should().BeInRange(markers.Length * 7 / 10, markers.Length * 97 / 100);
        validRequirements.Should().BeInRange(requirements.Length / 2, requirements.Length * 97 / 100);
        outcomes.Keys.Should().Contain(['0', '1', 'U', 'V'], "the generator reaches true, false, undefined comparisons and the string fallback");
    }

    [Fact]
    public void WheelFilenamesAgreeWithPackaging()
    {
        var spellings = new RandomSpellings(Seed + 1);
        string[] names = [.. Enumerable.Range(0, 500).Select(_ => spellings.WheelFilename())];

        using var answer = PackagingOracle.Run("wheels.py", writer =>
        {
            writer.WriteStartObject();
            WriteStrings(writer, "wheels", names);
            writer.WriteEndObject();
        });

        var mismatches = new List<string>();
        int valid = 0;
        foreach (var (name, expected) in names.Zip(answer.RootElement.EnumerateArray()))
        {
            if (!CompareValidity(mismatches, name, WheelFilename.TryParse(name, out var wheel), expected) || wheel is null) continue;
            valid++;
            Compare(mismatches, name, "name", wheel.NormalizedName, expected.GetProperty("name").GetString());
            Compare(mismatches, name, "version", wheel.Version.ToString(), expected.GetProperty("version").GetString());
            var build = expected.GetProperty("build");
            Compare(mismatches, name, "build", wheel.BuildTag is { } tag ? $"{tag.Number}|{tag.Suffix}" : null,
                build.ValueKind == JsonValueKind.Null ? null : $"{build[0].GetString()}|{build[1].GetString()}");
            Compare(mismatches, name, "tags", string.Join(" ", wheel.Tags.Select(t => t.ToString()).Order(StringComparer.Ordinal)),
                string.Join(" ", expected.GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
        }

        mismatches.Should().BeEmpty(string.Join("\n", mismatches.Take(30)));
        valid.Should().BeInRange(names.Length / 4, names.Length * 9 / 10);
    }

    private static bool CompareValidity(List<string> mismatches, string text, bool valid, JsonElement expected)
    {
        bool theirs = expected.ValueKind != JsonValueKind.Null;
        if (valid != theirs) mismatches.Add($"'{Escape(text)}': valid {valid}, packaging says {theirs}");
        return valid && theirs;
    }
}
