using System.Globalization;
using System.Text;
using Xar.Fuse;
using Xar.Interop;

namespace Xar.Runtime;

/// <summary>
/// The launcher as our FUSE server: <c>xar-fuse-server --serve-fuse IMAGE OFFSET MOUNTPOINT
/// TIMEOUT [FUSERMOUNT]</c> (argv[0] and the flag together, so no command line of the original
/// xarexec or of a self archive's target is taken for it). The first stage starts the daemon — the
/// same executable with <c>--serve-fuse-daemon</c>, in a session of its own, so that it outlives the
/// launcher and is not a child of the target the launcher becomes — and exits. The daemon mounts,
/// then closes its stderr (the launcher's pipe: end of file means "serving"); a failure is one
/// line there instead.
/// </summary>
public static class FuseServerMode
{
    public const string ProgramName = "xar-fuse-server";
    private const string StartFlag = "--serve-fuse";
    private const string DaemonFlag = "--serve-fuse-daemon";

    /// <summary>A file the daemon appends its request counts to, on SIGUSR1 and when it ends (a profiling aid).</summary>
    public const string StatisticsVariable = "XAR_FUSE_STATISTICS";

    /// <summary>Whether this process was started as the server.</summary>
    public static bool IsRequested(string argv0, string[] arguments) =>
        argv0 == ProgramName && arguments.Length > 0 && arguments[0] is StartFlag or DaemonFlag;

    /// <summary>The command line (argv[0] included) that serves the image.</summary>
    internal static string[] Arguments(string imagePath, long imageOffset, string mountPath, int timeoutSeconds, string? fusermount) =>
        [ProgramName, StartFlag, imagePath, imageOffset.ToString(CultureInfo.InvariantCulture), mountPath,
            timeoutSeconds.ToString(CultureInfo.InvariantCulture), fusermount ?? ""];

    /// <summary>Runs a stage of the server; returns the exit status.</summary>
    public static int Run(string[] arguments)
    {
        if (arguments.Length != 6
            || !long.TryParse(arguments[2], NumberStyles.None, CultureInfo.InvariantCulture, out long offset)
            || !int.TryParse(arguments[4], NumberStyles.None, CultureInfo.InvariantCulture, out int timeoutSeconds))
        {
            XarexecCommand.WriteOut(2, "xarexec: the FUSE server takes IMAGE OFFSET MOUNTPOINT TIMEOUT FUSERMOUNT\n");
            return (int)XarExitCode.Usage;
        }
        string image = arguments[1];
        if (arguments[0] == StartFlag)
        {
            try
            {
                // stderr (the launcher's pipe) is handed on; the first stage's exit lets the launcher go on waiting on it.
                ProgramRunner.Start("/proc/self/exe", [ProgramName, DaemonFlag, .. arguments[1..]], newSession: true, out _, captureStderr: false);
                return 0;
            }
            catch (IOException e)
            {
                XarexecCommand.WriteOut(2, $"xarexec: {image}: {e.Message}\n");
                return (int)XarExitCode.Unavailable;
            }
        }
        // Nothing of the launcher's working directory stays busy for the life of the mount.
        LibC.chdir("/");
        var options = new FuseServerOptions
        {
            IdleTimeout = timeoutSeconds > 0 ? TimeSpan.FromSeconds(timeoutSeconds) : null,
            Fusermount = arguments[5].Length > 0 ? arguments[5] : null,
            StatisticsPath = Environment.GetEnvironmentVariable(StatisticsVariable) is { Length: > 0 } path ? path : null,
        };
        try
        {
            FuseServer.Serve(image, offset, arguments[3], options, mounted: DetachFromLauncher);
            return 0;
        }
        catch (Exception e)
        {
            XarexecCommand.WriteOut(2, $"xarexec: {image}: {e.Message}\n");
            return (int)XarExitCode.Unavailable;
        }
    }

    /// <summary>stderr becomes /dev/null: the launcher sees end of file and knows the mount is there.</summary>
    private static void DetachFromLauncher()
    {
        int devNull = LibC.Open("/dev/null", LibC.O_RDWR, 0, out _);
        if (devNull >= 0)
        {
            LibC.dup2(devNull, 2);
            LibC.close(devNull);
        }
    }
}
