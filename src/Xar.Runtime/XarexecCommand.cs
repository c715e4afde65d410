using System.Text;
using Xar.Archive;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>
/// The <c>xarexec</c> launcher: the original's command line <c>xarexec [-m|-n|-h] FILE.xar [ARGS...]</c>,
/// or, when the launcher is the front of a self-layout archive, that archive with every argument
/// passed through. Errors are one line on stderr, <c>xarexec: &lt;archive&gt;: &lt;cause&gt;</c>, with
/// an exit status from <see cref="XarExitCode"/> (docs/launcher.md).
/// </summary>
public static unsafe class XarexecCommand
{
    public const string Usage =
        "Usage: xarexec [-m|-n|-h] [--] FILE.xar [ARGS...]\n" +
        "Runs the target of a XAR archive from a FUSE mount or an extraction in the cache.\n" +
        "  -m  mount (or extract) the archive and print its directory; do not run the target\n" +
        "  -n  print the directory it would be mounted on; do not mount\n" +
        "  -h  print this help\n" +
        "Environment: XAR_MODE=auto|mount|extract, XAR_MOUNT_TIMEOUT=SECONDS, XAR_MOUNT_SEED=NAME,\n" +
        "             XAR_FUSE_SERVER=auto|xar|squashfuse_ll (the mount's server; auto: ours, else squashfuse_ll),\n" +
        "             XAR_DEBUG=1 (say on stderr what the mount rung decides)\n";

    private enum Action
    {
        Run,
        MountOnly,
        PrintMountPath,
    }

    /// <summary>Runs the launcher; returns only when the target was not executed (a flag, or an error).</summary>
    /// <param name="argv0">argv[0] as the kernel passed it.</param>
    /// <param name="arguments">argv[1..].</param>
    /// <param name="executablePath">The launcher's own file; <c>/proc/self/exe</c> when null.</param>
    public static int Run(string argv0, string[] arguments, string? executablePath = null)
    {
        string timestamp = LaunchContext.Timestamp();
        string shownPath = "xarexec";
        try
        {
            if (LibC.getuid() != LibC.geteuid())
                throw new XarRuntimeException(XarExitCode.UnsafePermissions, "xarexec", "refusing to run set-user-ID (real and effective uid differ)");
            if (FuseServerMode.IsRequested(argv0, arguments))
                return FuseServerMode.Run(arguments);

            Action action = Action.Run;
            string archiveArgument;
            string invokedName;
            string[] passed;
            if (SelfArchive.IsArchive(executablePath ?? "/proc/self/exe"))
            {
                archiveArgument = executablePath ?? LibC.ReadLink("/proc/self/exe")
                    ?? throw new XarRuntimeException(XarExitCode.SystemError, argv0, "cannot read /proc/self/exe");
                invokedName = argv0;
                passed = arguments;
            }
            else
            {
                int index = 0;
                for (; index < arguments.Length && arguments[index].StartsWith('-'); index++)
                {
                    switch (arguments[index])
                    {
                        case "-m":
                            action = Action.MountOnly;
                            break;
                        case "-n":
                            action = Action.PrintMountPath;
                            break;
                        case "-h":
                        case "--help":
                            WriteOut(1, Usage);
                            return 0;
                        case "--":
                            index++;
                            goto FlagsDone;
                        default:
                            WriteOut(2, $"xarexec: unknown option {ErrorLine.Shorten(arguments[index])}\n{Usage}");
                            return (int)XarExitCode.Usage;
                    }
                }
            FlagsDone:
                if (index >= arguments.Length)
                {
                    WriteOut(2, $"xarexec: no archive given\n{Usage}");
                    return (int)XarExitCode.Usage;
                }
                archiveArgument = arguments[index];
                invokedName = archiveArgument;
                passed = arguments[(index + 1)..];
            }
            shownPath = archiveArgument;

            using XarArchive archive = OpenArchive(archiveArgument);
            RuntimeSettings settings = RuntimeSettings.FromEnvironment(archiveArgument);
            if (action == Action.PrintMountPath)
            {
                WriteOut(1, RunLadder.MountPath(archive, settings) + "\n");
                return 0;
            }
            if (action == Action.Run)
                HostLibraries.CheckGlibc(archive.Header, archiveArgument); // before anything is mounted
            string fullPath = Path.GetFullPath(archiveArgument);
            using PreparedTree tree = RunLadder.Prepare(archive, fullPath, settings);
            if (action == Action.MountOnly)
            {
                WriteOut(1, tree.Directory + "\n");
                return 0;
            }
            TargetExecutor.Exec(archive, tree, new LaunchContext(fullPath, invokedName, timestamp), passed);
            return (int)XarExitCode.Internal; // Exec returns only by throwing.
        }
        catch (XarRuntimeException e)
        {
            WriteOut(2, $"xarexec: {ErrorLine.Shorten(e.Message)}\n");
            return (int)e.ExitCode;
        }
        catch (XarFormatException e)
        {
            WriteOut(2, $"xarexec: {ErrorLine.Shorten(e.Message)}\n");
            return (int)XarExitCode.BadArchive;
        }
        catch (Exception e)
        {
            WriteOut(2, $"xarexec: {ErrorLine.Shorten($"{shownPath}: internal error: {e.GetType().Name}: {e.Message}")}\n");
            return (int)XarExitCode.Internal;
        }
    }

    /// <summary>Opens the archive, turning "cannot open" into one line with <see cref="XarExitCode.CannotOpen"/>.</summary>
    private static XarArchive OpenArchive(string path)
    {
        try
        {
            return XarArchive.Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not XarFormatException)
        {
            // .NET's message may be a bare resource key in the trimmed launcher: ask the system.
            int fd = LibC.Open(path, LibC.O_RDONLY, 0, out int errno);
            if (fd < 0)
                throw new XarRuntimeException(XarExitCode.CannotOpen, path, $"cannot open: {LibC.ErrorText(errno)}");
            bool isDirectory = LibC.Stat(fd, out StatX stat) == 0 && stat.IsDirectory;
            LibC.close(fd);
            throw new XarRuntimeException(XarExitCode.CannotOpen, path, isDirectory ? "cannot open: is a directory" : $"cannot read: {e.Message}");
        }
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="fd"/> (1 or 2) without Console; errors are ignored.</summary>
    internal static void WriteOut(int fd, string text) => LibC.WriteAll(fd, Encoding.UTF8.GetBytes(text));
}
