using System.Text.Json;

namespace Xar.Python.Distributions;

/// <summary>
/// A conda environment's <c>conda-meta/*.json</c> package records: each lists the files the
/// package installed, relative to the environment prefix. They tell which files belong to a
/// Python distribution whose metadata has no file list (an .egg-info without installed-files.txt).
/// </summary>
internal sealed class CondaMeta
{
    private readonly Dictionary<string, CondaPackage> _owners;

    private CondaMeta(Dictionary<string, CondaPackage> owners) => _owners = owners;

    /// <summary>Reads every package record; unreadable ones are skipped (conda itself would not list them either).</summary>
    public static CondaMeta Read(string directory)
    {
        var owners = new Dictionary<string, CondaPackage>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            CondaPackage package;
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(file));
                if (!document.RootElement.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Array) continue;
                package = new CondaPackage(file, files.EnumerateArray().Select(f => f.GetString()).OfType<string>().ToArray());
            }
            catch (JsonException)
            {
                continue;
            }
            foreach (string path in package.Files) owners.TryAdd(path, package);
        }
        return new CondaMeta(owners);
    }

    /// <summary>The package that installed <paramref name="prefixRelativePath"/>, or null.</summary>
    public CondaPackage? OwnerOf(string prefixRelativePath) => _owners.GetValueOrDefault(prefixRelativePath);
}

/// <summary>One conda package record: its file and the prefix-relative paths it installed.</summary>
internal sealed record CondaPackage(string RecordPath, IReadOnlyList<string> Files);
