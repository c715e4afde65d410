using System.CommandLine;
using Xar.Archive;
using Xar.Runtime;

namespace Xar.Cli;

/// <summary>`xar mount ARCHIVE [DIR]` and `xar unmount DIR|ARCHIVE`: a mounted archive to look at with ordinary tools.</summary>
internal static class MountCommands
{
    public static IEnumerable<Command> All(TextWriter stdout)
    {
        yield return Mount(stdout);
        yield return Unmount();
    }

    private static Command Mount(TextWriter stdout)
    {
        var file = new Argument<string>("ARCHIVE") { Description = "XAR archive." };
        var directory = new Argument<string?>("DIR")
        {
            Description = "An empty directory to mount on (default: where xarexec mounts it, so that launches reuse the mount).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var server = new Option<string>("--fuse-server")
        {
            Description = "The FUSE server: auto (ours, else squashfuse_ll), xar or squashfuse_ll (default: $XAR_FUSE_SERVER, else auto).",
        };
        server.AcceptOnlyFromAmong("auto", "xar", "squashfuse_ll");
        var command = new Command("mount", "Mount an archive's image with our FUSE server (or squashfuse_ll) and print the directory.") { file, directory, server };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            string? target = parse.GetValue(directory);
            using var archive = XarArchive.Open(path);
            RuntimeSettings settings = RuntimeSettings.FromEnvironment(path);
            if (parse.GetValue(server) is { } chosen)
                settings = settings with { FuseServer = chosen };
            // Our server is the launcher in server mode; this program is not the launcher, so it runs
            // a launcher file (none: squashfuse_ll only, or the error of a forced "xar").
            string? launcher = LauncherLocator.ExecutableFile();
            if (launcher is not null)
                settings = settings with { FuseServerProgram = launcher };
            else if (settings.FuseServer == "auto")
                settings = settings with { FuseServer = "squashfuse_ll" };
            else if (settings.FuseServer == "xar")
                throw new XarRuntimeException(XarExitCode.Unavailable, path, "our FUSE server is the xarexec launcher, and none is installed as a file (set XAR_LAUNCHER)");
            string imagePath = System.IO.Path.GetFullPath(path);
            if (target is null)
            {
                stdout.WriteLine(ArchiveMount.MountForLaunch(archive, imagePath, settings));
            }
            else
            {
                string mountPath = FullPath(target);
                ArchiveMount.MountAt(archive, imagePath, mountPath, settings);
                stdout.WriteLine(mountPath);
            }
            return 0;
        });
        return command;
    }

    private static Command Unmount()
    {
        var target = new Argument<string>("DIR|ARCHIVE") { Description = "A mount directory, or an archive mounted where xarexec mounts it." };
        var command = new Command("unmount", "Unmount what `xar mount` mounted; remove the directory if xarexec's naming made it.") { target };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(target)!;
            RuntimeSettings settings = RuntimeSettings.FromEnvironment(path);
            string directory;
            if (File.Exists(path))
            {
                using var archive = XarArchive.Open(path);
                directory = RunLadder.MountPath(archive, settings);
            }
            else
            {
                directory = FullPath(path);
            }
            ArchiveMount.Unmount(directory, ArchiveMount.IsLauncherMountDirectory(directory), settings);
            return 0;
        });
        return command;
    }

    private static string FullPath(string directory) => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(directory));
}
