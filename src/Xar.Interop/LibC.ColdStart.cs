using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>
/// Starting our FUSE server from the launcher that mounted (Xar.Runtime's FuseServerMode): a
/// forked child starts a session, forks the daemon and exits, so the daemon is neither the
/// launcher's child nor, after the launcher's execve, the target's; the daemon puts the inherited
/// descriptors at fixed numbers and executes the server.
/// </summary>
public static unsafe partial class LibC
{
    public static partial class InForkedChild
    {
        /// <summary>setsid by number (x86-64, arm64): a process that binds its calls before forking cannot call setsid harmlessly.</summary>
        public static long SYS_setsid => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 157 : 112;

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int fcntl(int fd, int command, int argument);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int dup2(int fd, int newFd);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial int execve(byte* path, byte** argv, byte** envp);

        [LibraryImport("libc")]
        [SuppressGCTransition]
        public static partial nint write(int fd, void* buffer, nuint length);
    }
}
