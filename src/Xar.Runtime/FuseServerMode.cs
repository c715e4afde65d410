using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Xar.Archive;
using Xar.Fuse;
using Xar.Interop;

namespace Xar.Runtime;

/// <summary>
/// The launcher as our FUSE server: <c>xar-fuse-server --serve-fuse IMAGE IDENTITY OFFSET MOUNTPOINT
/// TIMEOUT [FUSERMOUNT] ACCESS</c> (IDENTITY the archive's <c>MAJOR:MINOR:INODE</c>; ACCESS
/// <c>allow_root</c> for a mount made so, else empty) (argv[0] and the flag together, so no command line of the original
/// xarexec or of a self archive's target is taken for it). The launcher mounts (mount(2), or
/// fusermount3's hand-over) and starts the daemon with the connected /dev/fuse descriptor and the
/// archive descriptor it verified (<see cref="StartDaemon"/>), then goes on at once: the kernel queues every request to the
/// mount until the daemon has answered INIT, so the daemon's start-up overlaps the target's.
/// </summary>
/// <remarks>
/// The daemon's descriptors: 0 and 1 /dev/null; 2 the launcher's stderr until it serves (INIT
/// answered, workers reading; a failure is one line there), /dev/null after; 3 the connected
/// /dev/fuse; 4 the mount lock (or /dev/null), closed once it serves, so that launches waiting
/// for the lock see the mount only when it serves; 5 the archive the launcher opened and
/// verified, which the daemon serves (IMAGE only names it in messages: a path could have been
/// renamed over since, and the launcher may be root); nothing else of the launcher.
/// </remarks>
public static unsafe class FuseServerMode
{
    public const string ProgramName = "xar-fuse-server";
    private const string Flag = "--serve-fuse";

    /// <summary>A file the daemon appends its request counts to, on SIGUSR1 and when it ends (a profiling aid).</summary>
    public const string StatisticsVariable = "XAR_FUSE_STATISTICS";

    private const int DeviceDescriptor = 3;
    private const int HeldUntilServedDescriptor = 4;
    private const int ArchiveDescriptor = 5;

    /// <summary>Where the daemon's child reports a failed fork or execve (close-on-exec: end of file means it executed).</summary>
    private const int ReportDescriptor = 6;

    /// <summary>Copies are made at this number or above before they are moved in place, so that no move overwrites another source.</summary>
    private const int ScratchDescriptors = 10;

    /// <summary>Whether this process was started as the server.</summary>
    public static bool IsRequested(string argv0, string[] arguments) =>
        argv0 == ProgramName && arguments.Length > 0 && arguments[0] == Flag;

    /// <summary>The command line (argv[0] included) that serves the image of the archive whose statx is <paramref name="archiveFile"/>.</summary>
    internal static string[] Arguments(string imagePath, in StatX archiveFile, long imageOffset, string mountPath, int timeoutSeconds, string? fusermount, bool allowRoot) =>
        [ProgramName, Flag, imagePath, Identity(archiveFile), imageOffset.ToString(CultureInfo.InvariantCulture), mountPath,
            timeoutSeconds.ToString(CultureInfo.InvariantCulture), fusermount ?? "", allowRoot ? AllowRoot : ""];

    private static string Identity(in StatX file) => string.Create(CultureInfo.InvariantCulture, $"{file.DevMajor}:{file.DevMinor}:{file.Ino}");

    private const string AllowRoot = "allow_root";

    /// <summary>
    /// Starts <paramref name="program"/> with <paramref name="arguments"/> as the daemon serving
    /// <paramref name="device"/>, in a session of its own and a child of neither this process nor
    /// the target it becomes (a forked child forks it and exits). Returns once the daemon has been
    /// executed, without waiting for it to serve. The caller closes its copy of
    /// <paramref name="device"/> before it touches the mount: if the daemon dies before INIT, the
    /// last descriptor of the connection is gone and every request fails with ENOTCONN instead of
    /// waiting.
    /// </summary>
    /// <param name="archive">The archive descriptor the launcher verified, which the daemon serves.</param>
    /// <param name="heldUntilServed">A descriptor the daemon keeps until it serves (INIT answered, workers reading: the mount lock), or -1.</param>
    /// <exception cref="IOException">The daemon could not be forked or executed.</exception>
    internal static void StartDaemon(string program, string[] arguments, int device, int archive, int heldUntilServed)
    {
        int devNull = LibC.Open("/dev/null", LibC.O_RDWR | LibC.O_CLOEXEC, 0, out int openErrno);
        if (devNull < 0)
            throw new IOException($"cannot open /dev/null: {LibC.ErrorText(openErrno)}");
        int* pipe = stackalloc int[2] { -1, -1 };
        using var strings = new NativeStrings();
        try
        {
            if (LibC.pipe2(pipe, LibC.O_CLOEXEC) != 0)
                throw new IOException($"pipe: {LibC.ErrorText(LibC.LastError)}");
            byte* path = strings.Add(program);
            byte** argv = strings.AddAll(arguments);
            byte** environment = Environ.Current;
            var libc = LibC.InForkedChild.Resolved;
            int pid = ForkDaemon(&libc, path, argv, environment, devNull, device, archive, heldUntilServed >= 0 ? heldUntilServed : devNull, pipe[1]);
            int forkErrno = pid < 0 ? Marshal.GetLastSystemError() : 0; // clone failed: errno, as syscall(2) left it (a function pointer call sets no managed error state)
            LibC.close(pipe[1]);
            pipe[1] = -1;
            if (pid < 0)
                throw new IOException($"fork: {LibC.ErrorText(forkErrno)}");
            ProgramRunner.Wait(pid, program); // the intermediate child exits right after its fork
            int reported;
            nint n;
            while ((n = LibC.read(pipe[0], (byte*)&reported, sizeof(int))) < 0 && LibC.LastError == LibC.EINTR)
            {
            }
            if (n == sizeof(int))
                throw new IOException($"cannot run {program}: {LibC.ErrorText(reported)}");
        }
        finally
        {
            LibC.close(devNull);
            if (pipe[0] >= 0)
                LibC.close(pipe[0]);
            if (pipe[1] >= 0)
                LibC.close(pipe[1]);
        }
    }

    /// <summary>
    /// Forks; the child starts a session, forks the daemon and exits; the daemon puts its
    /// descriptors in place (<see cref="FuseServerMode"/>'s remarks) and executes the server.
    /// Compiled before it runs and calls nothing but <paramref name="libc"/>'s function pointers
    /// (<see cref="LibC.InForkedChild"/>): the children must not enter the runtime (the values
    /// they need come as arguments, the system call numbers with the functions).
    /// </summary>
    /// <returns>In the parent, the first child's pid, or -1.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int ForkDaemon(LibC.InForkedChild* libc, byte* path, byte** argv, byte** environment, int devNull, int device, int archive, int held, int report)
    {
        int pid = (int)libc->syscall3(libc->SYS_clone, LibC.InForkedChild.SIGCHLD, 0, 0);
        if (pid != 0)
            return pid;

        libc->syscall3(libc->SYS_setsid, 0, 0, 0);
        int daemon = (int)libc->syscall3(libc->SYS_clone, LibC.InForkedChild.SIGCHLD, 0, 0);
        if (daemon != 0)
        {
            if (daemon < 0)
            {
                int forkErrno = *libc->__errno_location();
                libc->write(report, &forkErrno, sizeof(int));
            }
            libc->syscall3(libc->SYS_exit_group, 0, 0, 0);
        }

        int nullCopy = libc->fcntl(devNull, LibC.F_DUPFD, ScratchDescriptors);
        int deviceCopy = libc->fcntl(device, LibC.F_DUPFD, ScratchDescriptors);
        int heldCopy = libc->fcntl(held, LibC.F_DUPFD, ScratchDescriptors);
        int archiveCopy = libc->fcntl(archive, LibC.F_DUPFD, ScratchDescriptors);
        int reportCopy = libc->fcntl(report, LibC.F_DUPFD, ScratchDescriptors);
        libc->dup2(nullCopy, 0);
        libc->dup2(nullCopy, 1);
        libc->dup2(deviceCopy, DeviceDescriptor);
        libc->dup2(heldCopy, HeldUntilServedDescriptor);
        libc->dup2(archiveCopy, ArchiveDescriptor);
        libc->dup2(reportCopy, ReportDescriptor);
        libc->fcntl(ReportDescriptor, LibC.F_SETFD, LibC.FD_CLOEXEC);
        // Nothing else the launcher had open (its caller's pipes, a caller's lock) stays open for the life of the mount.
        libc->syscall3(LibC.InForkedChild.SYS_close_range, ReportDescriptor + 1, uint.MaxValue, 0);
        libc->execve(path, argv, environment);
        int execErrno = *libc->__errno_location();
        libc->write(ReportDescriptor, &execErrno, sizeof(int));
        libc->syscall3(libc->SYS_exit_group, 127, 0, 0);
        return 0;
    }

    /// <summary>Runs the daemon; returns the exit status.</summary>
    public static int Run(string[] arguments)
    {
        if (arguments.Length != 8
            || !long.TryParse(arguments[3], NumberStyles.None, CultureInfo.InvariantCulture, out long offset)
            || !int.TryParse(arguments[5], NumberStyles.None, CultureInfo.InvariantCulture, out int timeoutSeconds)
            || arguments[7] is not ("" or AllowRoot))
        {
            XarexecCommand.WriteOut(2, "xarexec: the FUSE server takes IMAGE IDENTITY OFFSET MOUNTPOINT TIMEOUT FUSERMOUNT ACCESS\n");
            return (int)XarExitCode.Usage;
        }
        string image = arguments[1];
        string mountPoint = arguments[4];
        // Not inherited by fusermount3 when the daemon unmounts.
        LibC.fcntl(DeviceDescriptor, LibC.F_SETFD, LibC.FD_CLOEXEC);
        // Nothing of the launcher's working directory stays busy for the life of the mount.
        LibC.chdir("/");
        string? fusermount = arguments[6].Length > 0 ? arguments[6] : null;
        try
        {
            // One descriptor for the image served and the header the start set is read from.
            using SafeFileHandle archive = InheritedArchive(arguments[2]);
            var options = new FuseServerOptions
            {
                IdleTimeout = timeoutSeconds > 0 ? TimeSpan.FromSeconds(timeoutSeconds) : null,
                Fusermount = fusermount,
                AllowRoot = arguments[7] == AllowRoot,
                StatisticsPath = Environment.GetEnvironmentVariable(StatisticsVariable) is { Length: > 0 } path ? path : null,
                StartFiles = opened => StartSet.Resolve(image, archive, opened),
                MissedNames = names => RecordMissedNames(image, archive, names),
            };
            FuseServer.Serve(DeviceDescriptor, archive, offset, mountPoint, options, served: Served);
            return 0;
        }
        catch (Exception e)
        {
            XarexecCommand.WriteOut(2, $"xarexec: {image}: the FUSE server failed: {e.Message}\n");
            // A mount nobody will serve must not stay: the target, or the next launch, would meet a dead one.
            FuseMounter.Unmount(mountPoint, lazy: true, fusermount);
            return (int)XarExitCode.Unavailable;
        }
    }

    /// <summary>
    /// The archive the launcher verified, inherited as <see cref="ArchiveDescriptor"/>: it must be
    /// open on a regular file, the one <paramref name="identity"/> names (never opened again by path).
    /// </summary>
    /// <exception cref="IOException">It is not.</exception>
    private static SafeFileHandle InheritedArchive(string identity)
    {
        int error = LibC.Stat(ArchiveDescriptor, out StatX file);
        if (error != 0)
            throw new IOException($"the archive descriptor (fd {ArchiveDescriptor}) is not open: {LibC.ErrorText(error)}");
        if (!file.IsRegularFile)
            throw new IOException($"the archive descriptor (fd {ArchiveDescriptor}) is not a regular file");
        if (Identity(file) != identity)
            throw new IOException($"the archive descriptor (fd {ArchiveDescriptor}) is file {Identity(file)}, not the archive the launcher verified ({identity})");
        // Not inherited by fusermount3 when the daemon unmounts.
        LibC.fcntl(ArchiveDescriptor, LibC.F_SETFD, LibC.FD_CLOEXEC);
        return new SafeFileHandle(ArchiveDescriptor, ownsHandle: true);
    }

    /// <summary>
    /// Keeps what the mount was asked for and the image does not have for the next fresh mount's
    /// read-ahead (<see cref="MissedNameRecord"/>), in the user's private cache of the image,
    /// which is named by the image's hash (the header's, which the launcher checked).
    /// </summary>
    private static void RecordMissedNames(string image, SafeFileHandle archive, IReadOnlyList<string> names)
    {
        if (XarArchive.ReadHeader(archive, image).ImageSha256 is not { } sha256)
            return;
        var settings = new RuntimeSettings
        {
            XdgCacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME"),
            Home = Environment.GetEnvironmentVariable("HOME"),
            XdgRuntimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"),
        };
        MissedNameRecord.Add(names, sha256, settings, image);
    }

    /// <summary>INIT is answered and the workers read: the mount lock goes, and stderr becomes /dev/null (the caller's pipe is not held for the life of the mount).</summary>
    private static void Served()
    {
        LibC.close(HeldUntilServedDescriptor);
        int devNull = LibC.Open("/dev/null", LibC.O_RDWR, 0, out _);
        if (devNull >= 0)
        {
            LibC.dup2(devNull, 2);
            LibC.close(devNull);
        }
    }
}
