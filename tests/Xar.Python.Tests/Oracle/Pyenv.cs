using System.Text.RegularExpressions;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// The pyenv interpreters on this machine (docs/python-standards.md: 2.7 and 3.6–3.13). A missing one fails
/// the tests that need it with a message that says so; nothing is skipped.
/// </summary>
internal static partial class Pyenv
{
    [GeneratedRegex(@"^(\d+)\.(\d+)\.(\d+)$")]
    private static partial Regex ReleaseDirectory();

    public static string Root =>
        Environment.GetEnvironmentVariable("PYENV_ROOT") is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv");

    /// <summary>Every installed CPython release, oldest first, as (version, path of bin/python).</summary>
    public static IReadOnlyList<(Version Version, string Python)> Interpreters { get; } = FindInterpreters();

    /// <summary>The interpreter for a "major.minor" series.</summary>
    public static string Python(string series) =>
        Interpreters.Where(i => $"{i.Version.Major}.{i.Version.Minor}" == series).Select(i => i.Python).LastOrDefault()
        ?? throw new InvalidOperationException($"This test needs Python {series} under {Root}/versions (see docs/python-standards.md).");

    private static List<(Version, string)> FindInterpreters()
    {
        string versions = Path.Combine(Root, "versions");
        if (!Directory.Exists(versions)) return [];
        return Directory.GetDirectories(versions)
            .Select(dir => (Match: ReleaseDirectory().Match(Path.GetFileName(dir)), Python: Path.Combine(dir, "bin", "python")))
            .Where(x => x.Match.Success && File.Exists(x.Python))
            .Select(x => (new Version(int.Parse(x.Match.Groups[1].Value), int.Parse(x.Match.Groups[2].Value), int.Parse(x.Match.Groups[3].Value)), x.Python))
            .OrderBy(x => x.Item1)
            .ToList();
    }
}
