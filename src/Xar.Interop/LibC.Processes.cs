using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>
/// Processes: started with posix_spawn (no fork of a .NET process), replaced with execve, waited
/// for; the native environment they inherit (<see cref="Environ"/>).
/// </summary>
public static unsafe partial class LibC
{
    public const short POSIX_SPAWN_SETSID = 0x80;

    [LibraryImport("libc")]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_addopen(void* actions, int fd, byte* path, int flags, uint mode);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int execve(byte* path, byte** argv, byte** envp);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chdir(string path);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int dup2(int fd, int newFd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setenv(byte* name, byte* value, int overwrite);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unsetenv(string name);
}

/// <summary>
/// libc's <c>environ</c>: the native environment, which <see cref="LibC.setenv"/> changes and the
/// exec and spawn calls pass on. (.NET's Environment keeps a managed copy that these calls never see.)
/// </summary>
public static unsafe class Environ
{
    private static byte*** s_environ;

    public static byte** Current
    {
        get
        {
            if (s_environ == null)
                s_environ = (byte***)NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "environ");
            return *s_environ;
        }
    }
}
