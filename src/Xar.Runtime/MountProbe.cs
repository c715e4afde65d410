using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xar.Interop;

namespace Xar.Runtime;

/// <summary>What a probe of a mount directory found.</summary>
/// <param name="Answered">False when the mount did not answer within <paramref name="Deadline"/>.</param>
/// <param name="Fd">A descriptor on the directory (close-on-exec), or -1 when open failed with <paramref name="OpenErrno"/> or no answer came.</param>
/// <param name="StatfsErrno">Why fstatfs of the open directory failed; 0 when it succeeded.</param>
internal readonly record struct ProbeOutcome(bool Answered, int Fd, int OpenErrno, int StatfsErrno, StatFs FileSystem, TimeSpan Deadline);

/// <summary>
/// Opens a mount directory and statfs's it from a forked child, never from a thread of the
/// launcher. A FUSE request to a server that is stopped (SIGSTOP, a debugger, a frozen cgroup) or
/// hung waits forever, and once the server has read it even SIGKILL does not end the wait
/// (fs/fuse/dev.c, request_wait_answer): a thread of the launcher caught that way would hold up
/// its execve, which waits for every other thread to die. A child caught that way is given up —
/// killed, and left behind if the kill cannot take effect — and the launcher goes on.
/// </summary>
/// <remarks>
/// The child hands the descriptor back over a socket (SCM_RIGHTS) with the statfs result. Before
/// it touches the mount it closes every other descriptor (a child left stuck must not keep the
/// mount lock's flock, a pin or the caller's pipes open), statfs's the mount directory's parent —
/// a file system that answers at once — and says it is ready: the time that took, fork and
/// scheduling included, measures how busy the host is, and the mount must answer within
/// <see cref="DeadlineFactor"/> times that, and never less than the floor the caller gives.
/// </remarks>
internal static unsafe class MountProbe
{
    /// <summary>How many times the child's start-up (fork, scheduling, a statfs) the mount may take to answer.</summary>
    public const int DeadlineFactor = 20;

    /// <summary>The longest deadline, however busy the host.</summary>
    public static readonly TimeSpan DeadlineCeiling = TimeSpan.FromSeconds(10);

    /// <summary>How long the child may take to start; it touches nothing of the mount before, so only a frozen host makes it late.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    [StructLayout(LayoutKind.Sequential)]
    private struct Report
    {
        public int OpenErrno;
        public int StatfsErrno;
        public StatFs FileSystem;
    }

    /// <exception cref="IOException">The probe could not be started.</exception>
    public static ProbeOutcome Run(string mountPath, TimeSpan floor)
    {
        byte[] path = LibC.Utf8Z(mountPath);
        byte[] parent = LibC.Utf8Z(Path.GetDirectoryName(mountPath) ?? "/");
        int* pair = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, pair) != 0)
            throw new IOException($"socketpair: {LibC.ErrorText(LibC.LastError)}");
        int pid;
        long start = Stopwatch.GetTimestamp();
        var libc = LibC.InForkedChild.Resolved;
        fixed (byte* pathBytes = path, parentBytes = parent)
            pid = ForkProbe(&libc, pathBytes, parentBytes, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, pair[1]);
        int forkErrno = pid < 0 ? Marshal.GetLastSystemError() : 0; // clone failed: errno, as syscall(2) left it (a function pointer call sets no managed error state)
        LibC.close(pair[1]);
        try
        {
            if (pid < 0)
                throw new IOException($"fork: {LibC.ErrorText(forkErrno)}");
            byte ready;
            if (!Receive(pair[0], StartTimeout) || LibC.read(pair[0], &ready, 1) != 1)
            {
                Abandon(pid);
                throw new IOException($"the probe of {mountPath} did not start within {StartTimeout.TotalSeconds:0} s");
            }
            TimeSpan startup = Stopwatch.GetElapsedTime(start);
            TimeSpan deadline = TimeSpan.FromTicks(Math.Clamp(startup.Ticks * DeadlineFactor, floor.Ticks, Math.Max(floor.Ticks, DeadlineCeiling.Ticks)));
            if (!Receive(pair[0], deadline))
            {
                Abandon(pid);
                return new ProbeOutcome(false, -1, 0, 0, default, deadline);
            }
            Report report = default;
            nint received = LibC.ReceiveWithDescriptor(pair[0], &report, (nuint)sizeof(Report), out int fd);
            int receiveErrno = received < 0 ? LibC.LastError : 0;
            // The child exits right after sending: nothing of the mount is left for it to wait on.
            int status;
            while (LibC.waitpid(pid, &status, 0) < 0 && LibC.LastError == LibC.EINTR)
            {
            }
            if (received != sizeof(Report))
            {
                if (fd >= 0)
                    LibC.close(fd);
                throw new IOException($"the probe of {mountPath} sent no report: {(received < 0 ? LibC.ErrorText(receiveErrno) : "short message")}");
            }
            return new ProbeOutcome(true, report.OpenErrno == 0 ? fd : -1, report.OpenErrno, report.StatfsErrno, report.FileSystem, deadline);
        }
        finally
        {
            LibC.close(pair[0]);
        }
    }

    /// <summary>
    /// Forks; in the child, probes and exits. Compiled before it runs (the parent runs it first)
    /// and calls nothing but <paramref name="libc"/>'s function pointers (<see cref="LibC.InForkedChild"/>):
    /// the child must not enter the runtime (the values it needs come as arguments, the system call
    /// numbers with the functions, so no static is initialised in it).
    /// </summary>
    /// <returns>In the parent, the child's pid, or -1.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int ForkProbe(LibC.InForkedChild* libc, byte* path, byte* parent, int openFlags, int socket)
    {
        int pid = (int)libc->syscall3(libc->SYS_clone, LibC.InForkedChild.SIGCHLD, 0, 0);
        if (pid != 0)
            return pid;

        // Only the socket stays open (on a kernel before 5.9, without close_range, the copies stay).
        if (socket > 0)
            libc->syscall3(LibC.InForkedChild.SYS_close_range, 0, socket - 1, 0);
        libc->syscall3(LibC.InForkedChild.SYS_close_range, socket + 1, uint.MaxValue, 0);
        Report report = default;
        libc->statfs(parent, &report.FileSystem);
        byte ready = 1;
        libc->send(socket, &ready, 1, 0);

        int fd = libc->openat(LibC.AT_FDCWD, path, openFlags, 0);
        if (fd < 0)
            report.OpenErrno = *libc->__errno_location();
        else if (libc->fstatfs(fd, &report.FileSystem) != 0)
            report.StatfsErrno = *libc->__errno_location();
        var vector = new IoVector { Base = &report, Length = (nuint)sizeof(Report) };
        var control = new DescriptorMessage { Length = DescriptorMessage.UsedLength, Level = LibC.SOL_SOCKET, Type = LibC.SCM_RIGHTS, Descriptor = fd };
        var message = new MessageHeader { Vectors = &vector, VectorCount = 1 };
        if (fd >= 0)
        {
            message.Control = &control;
            message.ControlLength = (nuint)sizeof(DescriptorMessage);
        }
        libc->sendmsg(socket, &message, 0);
        libc->syscall3(libc->SYS_exit_group, 0, 0, 0);
        return 0;
    }

    /// <summary>True when <paramref name="fd"/> is readable (or closed by the child) within <paramref name="timeout"/>.</summary>
    private static bool Receive(int fd, TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            TimeSpan left = timeout - Stopwatch.GetElapsedTime(start);
            var poll = new PollFd { Fd = fd, Events = LibC.POLLIN };
            int n = LibC.poll(&poll, 1, left <= TimeSpan.Zero ? 0 : (int)Math.Ceiling(left.TotalMilliseconds));
            if (n > 0)
                return true;
            if (n == 0 || LibC.LastError != LibC.EINTR)
                return false;
        }
    }

    /// <summary>
    /// Kills the child and reaps it if it dies soon: a request the server has not read yet ends with
    /// the kill; one it read and does not answer keeps the child until the server answers or dies.
    /// </summary>
    private static void Abandon(int pid)
    {
        LibC.kill(pid, LibC.SIGKILL);
        int status;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int reaped = LibC.waitpid(pid, &status, LibC.WNOHANG);
            if (reaped == pid || (reaped < 0 && LibC.LastError != LibC.EINTR))
                return;
            Thread.Sleep(1);
        }
    }
}
