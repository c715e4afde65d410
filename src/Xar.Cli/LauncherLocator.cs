using Xar.Archive;
using Xar.Archive.Elf;

namespace Xar.Cli;

/// <summary>
/// Finds the xarexec launcher that a `self` archive starts with, for the machine the archive is
/// built for: an explicit path, $XAR_LAUNCHER, a launcher installed next to this program (for
/// this machine only), the one embedded in it when it was packed or published (the .NET tool and
/// the single-file executable users install carry one per target), or the one
/// scripts/publish-launcher puts in the source tree's .artifacts directory. The launcher found
/// must be an ELF executable for the target's machine.
/// </summary>
internal static class LauncherLocator
{
    public const string EnvironmentVariable = "XAR_LAUNCHER";

    /// <summary>The embedded launcher's resource name for a target (Xar.Cli.csproj, target EmbedLauncher).</summary>
    public static string EmbeddedResourceName(TargetPlatform target) => $"{target.RuntimeIdentifier}/xarexec";

    /// <summary>Opens the launcher for <paramref name="target"/> for reading from its first byte.</summary>
    public static Stream Open(string? explicitPath, TargetPlatform target)
    {
        var (launcher, name) = Find(explicitPath, target);
        try
        {
            target.Check(ElfObject.Read(launcher, name), name);
            launcher.Position = 0;
            return launcher;
        }
        catch (ElfFormatException e)
        {
            launcher.Dispose();
            throw new IOException($"{name}: not an ELF executable ({e.Message})", e);
        }
        catch (IOException)
        {
            launcher.Dispose();
            throw;
        }
    }

    private static (Stream Launcher, string Name) Find(string? explicitPath, TargetPlatform target)
    {
        if (explicitPath is not null)
            return File.Exists(explicitPath) ? (File.OpenRead(explicitPath), $"--launcher {explicitPath}") : throw new IOException($"--launcher {explicitPath}: no such file");
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
            return File.Exists(fromEnvironment) ? (File.OpenRead(fromEnvironment), $"{EnvironmentVariable}={fromEnvironment}") : throw new IOException($"{EnvironmentVariable}={fromEnvironment}: no such file");
        if (Installed(target) is { } installed)
            return (File.OpenRead(installed), installed);
        // Embedded after "installed beside": a launcher put next to xar on purpose wins over the one built in.
        if (typeof(LauncherLocator).Assembly.GetManifestResourceStream(EmbeddedResourceName(target)) is { } embedded)
            return (embedded, $"the embedded {EmbeddedResourceName(target)}");
        if (Published(target) is { } published)
            return (File.OpenRead(published), published);
        throw new IOException($"no xarexec launcher for the self layout on {target.RuntimeIdentifier}: pass --launcher PATH, set XAR_LAUNCHER, "
                              + $"run scripts/publish-launcher {target.RuntimeIdentifier}, or build with --layout xarexec");
    }

    /// <summary>
    /// A launcher of this machine that is a file, to run as the FUSE server of `xar mount`:
    /// $XAR_LAUNCHER, the one installed next to this program, or the source tree's published one
    /// (the embedded launcher is no file); null when there is none.
    /// </summary>
    public static string? ExecutableFile()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
            return File.Exists(fromEnvironment) ? Path.GetFullPath(fromEnvironment) : null;
        return Installed(TargetPlatform.Host) ?? Published(TargetPlatform.Host);
    }

    private static string? Installed(TargetPlatform target)
    {
        string installed = Path.Combine(AppContext.BaseDirectory, "xarexec");
        return target == TargetPlatform.Host && File.Exists(installed) ? installed : null;
    }

    private static string? Published(TargetPlatform target)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Xar.slnx")))
            {
                string published = Path.Combine(dir.FullName, ".artifacts", "launcher", target.RuntimeIdentifier, "xarexec");
                return File.Exists(published) ? published : null;
            }
        }
        return null;
    }
}
