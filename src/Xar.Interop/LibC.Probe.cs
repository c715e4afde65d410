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
    /// The calls a forked child of the launcher makes (the mount probe, Xar.Runtime's MountProbe;
    /// the daemon's start, FuseServerMode). After fork only the calling thread exists, so the child
    /// must not enter the .NET runtime: a GC, a lock or a compilation would wait for threads that
    /// are not there. So the child calls libc through unmanaged function pointers that the parent
    /// resolves before it forks (<see cref="Resolved"/>) and passes down: a call through one is an
    /// instruction of the caller — JIT-compiled or Native AOT alike —, with no managed wrapper
    /// frame (whose return a runtime suspension in the parent may have hijacked at the moment of
    /// the fork), no binding on first call and no GC transition; and it forks with a bare clone
    /// (<see cref="SYS_clone"/>). With P/Invoke wrappers and glibc's fork, a child of the
    /// JIT-compiled test host once waited forever inside the runtime (pthread_cond_wait in
    /// libcoreclr, called from managed code) and its parent, the test, with it.
    /// </summary>
    public struct InForkedChild
    {
        /// <summary>Linux's close_range (5.9): the same number on x86-64 and arm64.</summary>
        public const long SYS_close_range = 436;

        /// <summary>The signal a child's end sends its parent: clone's flags for a fork.</summary>
        public const long SIGCHLD = 17;

        // A type initializer's: a struct assigned lazily could be read half-written by another thread.
        private static readonly InForkedChild s_resolved = Resolve();

        // Fields, not properties: the child must not call even a getter. The system call numbers
        // depend on the machine, which only the parent may ask the runtime for.
#pragma warning disable CA1051, SA1300, SA1307, IDE1006 // libc's own names, as fields

        /// <summary>exit_group: ends the child without glibc's exit handlers.</summary>
        public long SYS_exit_group;

        public long SYS_setsid;

        /// <summary>
        /// clone: with <see cref="SIGCHLD"/> as its only flag it is fork without glibc's fork
        /// handlers (pthread_atfork's, the runtime's and libraries'), which run in the child too and
        /// may wait for a lock that a thread of the parent held: the child has no such thread. The
        /// children call nothing that needs glibc's own state reset (no malloc).
        /// </summary>
        public long SYS_clone;

        public delegate* unmanaged[SuppressGCTransition]<long, long, long, long, long> syscall3;
        public delegate* unmanaged[SuppressGCTransition]<int*> __errno_location;
        public delegate* unmanaged[SuppressGCTransition]<int, byte*, int, uint, int> openat;
        public delegate* unmanaged[SuppressGCTransition]<int, StatFs*, int> fstatfs;
        public delegate* unmanaged[SuppressGCTransition]<byte*, StatFs*, int> statfs;
        public delegate* unmanaged[SuppressGCTransition]<int, byte*, nuint, int, nint> send;
        public delegate* unmanaged[SuppressGCTransition]<int, MessageHeader*, int, nint> sendmsg;
        public delegate* unmanaged[SuppressGCTransition]<int, int, int, int> fcntl;
        public delegate* unmanaged[SuppressGCTransition]<int, int, int> dup2;
        public delegate* unmanaged[SuppressGCTransition]<byte*, byte**, byte**, int> execve;
        public delegate* unmanaged[SuppressGCTransition]<int, void*, nuint, nint> write;
#pragma warning restore CA1051, SA1300, SA1307, IDE1006

        /// <summary>
        /// libc's functions, looked up once in the C library this process already runs with (dlopen
        /// of its soname returns the loaded one; nothing is searched for beside the program), and
        /// this machine's system call numbers (x86-64, arm64).
        /// </summary>
        /// <exception cref="TypeInitializationException">A function is missing: the C library is not glibc.</exception>
        public static InForkedChild Resolved => s_resolved;

        private static InForkedChild Resolve()
        {
            nint libc = NativeLibrary.Load("libc.so.6");
            bool arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
            return new InForkedChild
            {
                SYS_exit_group = arm64 ? 94 : 231,
                SYS_setsid = arm64 ? 157 : 112,
                SYS_clone = arm64 ? 220 : 56,
                syscall3 = (delegate* unmanaged[SuppressGCTransition]<long, long, long, long, long>)NativeLibrary.GetExport(libc, "syscall"),
                __errno_location = (delegate* unmanaged[SuppressGCTransition]<int*>)NativeLibrary.GetExport(libc, "__errno_location"),
                openat = (delegate* unmanaged[SuppressGCTransition]<int, byte*, int, uint, int>)NativeLibrary.GetExport(libc, "openat"),
                fstatfs = (delegate* unmanaged[SuppressGCTransition]<int, StatFs*, int>)NativeLibrary.GetExport(libc, "fstatfs"),
                statfs = (delegate* unmanaged[SuppressGCTransition]<byte*, StatFs*, int>)NativeLibrary.GetExport(libc, "statfs"),
                send = (delegate* unmanaged[SuppressGCTransition]<int, byte*, nuint, int, nint>)NativeLibrary.GetExport(libc, "send"),
                sendmsg = (delegate* unmanaged[SuppressGCTransition]<int, MessageHeader*, int, nint>)NativeLibrary.GetExport(libc, "sendmsg"),
                fcntl = (delegate* unmanaged[SuppressGCTransition]<int, int, int, int>)NativeLibrary.GetExport(libc, "fcntl"),
                dup2 = (delegate* unmanaged[SuppressGCTransition]<int, int, int>)NativeLibrary.GetExport(libc, "dup2"),
                execve = (delegate* unmanaged[SuppressGCTransition]<byte*, byte**, byte**, int>)NativeLibrary.GetExport(libc, "execve"),
                write = (delegate* unmanaged[SuppressGCTransition]<int, void*, nuint, nint>)NativeLibrary.GetExport(libc, "write"),
            };
        }
    }
}
