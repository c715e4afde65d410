using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>
/// The mount probe's calls (Xar.Runtime's MountProbe): a forked child touches a mount that may
/// never answer and hands the descriptor back over a socket, while the launcher waits for it with
/// poll and a deadline, then kills and reaps it.
/// </summary>
public static unsafe partial class LibC
{
    public const short POLLIN = 1;
    public const int SIGKILL = 9;
    public const int WNOHANG = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    /// <summary>
    /// The calls a forked child of the launcher makes. After fork only the calling thread exists,
    /// so the child must not enter the .NET runtime (a GC, a lock, a JIT compilation would wait for
    /// threads that are not there): these skip the GC transition and set no managed error state,
    /// and the parent calls each once before it forks, so that a JIT-compiled process has bound them
    /// (Xar.Runtime's MountProbe). fork itself is called through here for the same reason.
    /// </summary>
    public static partial class InForkedChild
    {
        /// <summary>Linux's close_range (5.9): the same number on x86-64 and arm64.</summary>
        public const long SYS_close_range = 436;

        /// <summary>exit_group: ends the child without glibc's exit handlers (x86-64, arm64).</summary>
        public static long SYS_exit_group => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 94 : 231;

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int fork();

        [LibraryImport("libc", EntryPoint = "syscall")]
        [SuppressGCTransition]
        public static partial long syscall3(long number, long first, long second, long third);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int* __errno_location();

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int openat(int dirfd, byte* path, int flags, uint mode);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int fstatfs(int fd, StatFs* buffer);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int statfs(byte* path, StatFs* buffer);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial nint send(int fd, byte* buffer, nuint length, int flags);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial nint sendmsg(int fd, MessageHeader* message, int flags);
    }
}
