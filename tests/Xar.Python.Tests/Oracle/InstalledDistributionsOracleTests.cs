using System.Text.Json;
using Xar.Python.Standards;
using static Xar.Python.Tests.Oracle.VersionOracleTests;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// Every .dist-info installed in this machine's pyenv interpreters (Flask, cryptography, boto3,
/// pip, … — metadata nobody here wrote): METADATA, its requirements and entry_points.txt read by
/// us and by the standard library and packaging.
/// </summary>
public class InstalledDistributionsOracleTests
{
    [Fact]
    public void InstalledMetadataAndEntryPointsAgreeWithTheStandardLibrary()
    {
        string[] distributions = Pyenv.Interpreters
            .Where(i => i.Version.Major == 3)
            .SelectMany(i => Directory.GetDirectories(Path.Combine(Pyenv.Root, "versions", i.Version.ToString(), "lib"), "*.dist-info", SearchOption.AllDirectories))
            .Where(dir => File.Exists(Path.Combine(dir, "METADATA")))
            .Order(StringComparer.Ordinal)
            .ToArray();

        using var answer = PackagingOracle.Run("installed.py", writer =>
        {
            writer.WriteStartObject();
            WriteStrings(writer, "distributions", distributions);
            writer.WriteEndObject();
        });

        var mismatches = new List<string>();
        int requirements = 0, entryPoints = 0;
        foreach (var (directory, expected) in distributions.Zip(answer.RootElement.EnumerateArray()))
        {
            var metadata = DistributionMetadata.Parse(File.ReadAllBytes(Path.Combine(directory, "METADATA")));
            string name = Path.GetFileName(directory);
            Compare(mismatches, name, "Name", metadata.Name, expected.GetProperty("name").GetString());
            Compare(mismatches, name, "Version", metadata.VersionText, expected.GetProperty("version").GetString());
            Compare(mismatches, name, "Requires-Python", metadata.Get("Requires-Python"), expected.GetProperty("requires_python").GetString());
            Compare(mismatches, name, "Provides-Extra", string.Join("|", metadata.ProvidesExtra), Join(expected.GetProperty("provides_extra")));
            // Python keeps a folded header's line breaks; we unfold them (RFC 5322).
            Compare(mismatches, name, "Requires-Dist", string.Join("|", metadata.RequiresDist), Join(expected.GetProperty("requires_dist")).Replace("\n", ""));
            Compare(mismatches, name, "body", metadata.Body, expected.GetProperty("body").GetString()!.Replace("\r\n", "\n"));

            foreach (var (text, theirs) in metadata.RequiresDist.Zip(expected.GetProperty("requirements").EnumerateArray()))
            {
                requirements++;
                Compare(mismatches, text, "requirement", Requirement.TryParse(text, out var requirement) ? requirement.ToString() : null, theirs.GetString());
            }

            string entryPointsFile = Path.Combine(directory, "entry_points.txt");
            var ours = File.Exists(entryPointsFile) ? EntryPointsFile.Parse(File.ReadAllText(entryPointsFile)).EntryPoints : [];
            var theirsEntryPoints = expected.GetProperty("entry_points").EnumerateArray().ToArray();
            Compare(mismatches, name, "entry point count", ours.Count, theirsEntryPoints.Length);
            foreach (var (entry, theirs) in ours.Zip(theirsEntryPoints))
            {
                entryPoints++;
                Compare(mismatches, name, "entry point",
                    $"[{entry.Group}] {entry.Name} = {entry.Module} : {entry.Attribute} {string.Join(",", entry.Extras)}",
                    $"[{theirs[0].GetString()}] {theirs[1].GetString()} = {theirs[2].GetString()} : {theirs[3].GetString()} {Join(theirs[4], ",")}");
            }
        }

        mismatches.Should().BeEmpty(string.Join("\n", mismatches.Take(30)));
        distributions.Length.Should().BeGreaterThan(50, "the pyenv interpreters have real distributions installed");
        requirements.Should().BeGreaterThan(100);
        entryPoints.Should().BeGreaterThan(20);
    }

    private static string Join(JsonElement array, string separator = "|") =>
        string.Join(separator, array.EnumerateArray().Select(e => e.GetString()));
}
