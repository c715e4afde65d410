using System.Reflection;

namespace Xar.Cli;

/// <summary>
/// Finds the xarexec launcher that a `self` archive starts with: an explicit path, $XAR_LAUNCHER,
/// a launcher installed next to this program, the one embedded in it when it was packed or
/// published (the .NET tool and the single-file executable users install), or the one
/// scripts/publish-launcher puts in the source tree's .artifacts directory.
/// </summary>
internal static class LauncherLocator
{
    public const string EnvironmentVariable = "XAR_LAUNCHER";

    /// <summary>The embedded launcher's resource name (Xar.Cli.csproj, target EmbedLauncher).</summary>
    public const string EmbeddedResourceName = "linux-x64/xarexec";

    /// <summary>Opens the launcher for reading from its first byte.</summary>
    public static Stream Open(string? explicitPath)
    {
        if (explicitPath is not null)
            return File.Exists(explicitPath) ? File.OpenRead(explicitPath) : throw new IOException($"--launcher {explicitPath}: no such file");
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
            return File.Exists(fromEnvironment) ? File.OpenRead(fromEnvironment) : throw new IOException($"{EnvironmentVariable}={fromEnvironment}: no such file");
        string installed = Path.Combine(AppContext.BaseDirectory, "xarexec");
        if (File.Exists(installed))
            return File.OpenRead(installed);
        // Embedded after "installed beside": a launcher put next to xar on purpose wins over the one built in.
        if (typeof(LauncherLocator).Assembly.GetManifestResourceStream(EmbeddedResourceName) is { } embedded)
            return embedded;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xar.slnx")))
            {
                string published = Path.Combine(dir.FullName, ".artifacts", "launcher", "linux-x64", "xarexec");
                if (File.Exists(published))
                    return File.OpenRead(published);
                break;
            }
        }
        throw new IOException("no xarexec launcher for the self layout: pass --launcher PATH, set XAR_LAUNCHER, "
                              + "run scripts/publish-launcher, or build with --layout xarexec");
    }
}
