using System.Text;

namespace Xar.Python.Distributions;

/// <summary>setuptools' egg metadata files, read as importlib.metadata reads them.</summary>
internal static class EggMetadata
{
    /// <summary>
    /// requires.txt as Requires-Dist strings: lines before any section are unconditional;
    /// <c>[extra]</c>, <c>[:marker]</c> and <c>[extra:marker]</c> sections add
    /// <c>; extra == "extra"</c>, <c>; marker</c> or <c>; (marker) and extra == "extra"</c>.
    /// </summary>
    public static IEnumerable<string> RequirementsFromRequiresTxt(string text)
    {
        string? section = null;
        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1].Trim();
                continue;
            }
            yield return line + (line.Contains('@') ? " " : "") + SectionMarker(section);
        }
    }

    private static string SectionMarker(string? section)
    {
        if (string.IsNullOrEmpty(section)) return "";
        int colon = section.IndexOf(':');
        string extra = colon < 0 ? section : section[..colon];
        string marker = colon < 0 ? "" : section[(colon + 1)..];
        if (extra.Length > 0 && marker.Length > 0) marker = $"({marker})";
        var conditions = new List<string>();
        if (marker.Length > 0) conditions.Add(marker);
        if (extra.Length > 0) conditions.Add($"extra == \"{extra}\"");
        return conditions.Count == 0 ? "" : "; " + string.Join(" and ", conditions);
    }

    /// <summary>The non-empty, trimmed lines of a text file such as installed-files.txt, or none when it is absent.</summary>
    public static IReadOnlyList<string> LinesOfFile(string path) =>
        File.Exists(path) ? Lines(File.ReadAllText(path, Encoding.UTF8)) : [];

    /// <summary>The non-empty, trimmed lines that are not comments, as setuptools reads top_level.txt.</summary>
    public static IReadOnlyList<string> Lines(string text) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
}
