namespace Xar.Cli;

/// <summary>
/// Finds the xarexec launcher that a `self` archive starts with: an explicit path, $XAR_LAUNCHER,
/// a launcher installed next to this program, or the one scripts/publish-launcher puts in the
/// source tree's .artifacts directory.
/// </summary>
internal static class LauncherLocator
{
    public const string EnvironmentVariable = "XAR_LAUNCHER";

    public static string Find(string? explicitPath)
    {
        if (explicitPath is not null)
            return File.Exists(explicitPath) ? explicitPath : throw new IOException($"--launcher {explicitPath}: no such file");
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
            return File.Exists(fromEnvironment) ? fromEnvironment : throw new IOException($"{EnvironmentVariable}={fromEnvironment}: no such file");
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "xarexec") };
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xar.slnx")))
            {
                candidates.Add(Path.Combine(dir.FullName, ".artifacts", "launcher", "linux-x64", "xarexec"));
                break;
            }
        }
        return candidates.FirstOrDefault(File.Exists)
               ?? throw new IOException("no xarexec launcher for the self layout: pass --launcher PATH, set XAR_LAUNCHER, "
                                        + "run scripts/publish-launcher, or build with --layout xarexec");
    }
}
