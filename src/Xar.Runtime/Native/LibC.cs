using System.Runtime.InteropServices;
using System.Text;
using DirEnt64 = Xar.SquashFs.Native.DirEnt64;
using StatX = Xar.SquashFs.Native.StatX;

namespace Xar.Runtime.Native;

/// <summary>
/// The libc calls the run ladder needs. They are called directly rather than through
/// System.IO/System.Diagnostics because the launcher must stay small and start fast (no
/// Process class, no FileStream on the warm path), and because several have no managed
/// equivalent at all (flock with a deadline, statfs, umount2, execve, posix_spawn).
/// Struct layouts are those of 64-bit Linux (x86-64 and arm64 share them).
/// </summary>
internal static unsafe partial class LibC
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_EXCL = 0x80;
    public const int O_CREAT = 0x40;
    public static readonly int O_NOFOLLOW = Xar.SquashFs.Native.LibC.O_NOFOLLOW; // arm64's differs
    public static readonly int O_DIRECTORY = Xar.SquashFs.Native.LibC.O_DIRECTORY;
    public const int O_CLOEXEC = 0x80000;
    public const int O_PATH = 0x200000;

    public const int EPERM = 1;
    public const int EIO = 5;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int EROFS = 30;
    public const int ENOTEMPTY = 39;
    public const int EWOULDBLOCK = 11;
    public const int ECONNABORTED = 103;
    public const int ENOTCONN = 107;

    public const int LOCK_SH = 1;
    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;

    public const int MNT_DETACH = 2;

    public const int F_DUPFD = 0;
    public const int F_DUPFD_CLOEXEC = 1030;

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int AT_REMOVEDIR = 0x200;

    public const int SIGPIPE = 13;
    public const int ENOEXEC = 8;

    public const int R_OK = 4;
    public const int W_OK = 2;
    public const int X_OK = 1;

    /// <summary>statfs f_type of every FUSE filesystem (linux/magic.h).</summary>
    public const long FuseSuperMagic = 0x65735546;

    /// <summary>statfs f_flags bit: the filesystem is mounted noexec.</summary>
    public const long ST_NOEXEC = 8;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    // The *at calls take names as NUL-terminated bytes: names in an image need not be UTF-8.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int openat(int dirfd, byte* name, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int unlinkat(int dirfd, byte* name, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchmodat(int dirfd, byte* name, uint mode, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    public static partial int statxAt(int dirfd, byte* name, int flags, uint mask, StatX* buffer);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    /// <summary>Takes ownership of <paramref name="fd"/>: <see cref="closedir"/> closes it.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint fdopendir(int fd);

    /// <summary>On 64-bit glibc readdir and readdir64 share the struct dirent64 layout.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial DirEnt64* readdir64(nint dir);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int closedir(nint dir);

    /// <summary>With a null <paramref name="resolved"/>, returns a malloc'd buffer to <see cref="free"/>.</summary>
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial byte* realpath(string path, byte* resolved);

    [LibraryImport("libc")]
    public static partial void free(void* pointer);

    /// <summary>glibc's own version, "2.36": static storage, not to be freed.</summary>
    [LibraryImport("libc")]
    public static partial byte* gnu_get_libc_version();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdir(string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rmdir(string path);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rename(string from, string to);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlink(string path);

    [LibraryImport("libc")]
    public static partial uint umask(uint mask);

    [LibraryImport("libc")]
    public static partial uint getuid();

    [LibraryImport("libc")]
    public static partial uint geteuid();

    [LibraryImport("libc")]
    public static partial uint getegid();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getgroups(int size, uint* list);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int futimens(int fd, void* times);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fstatfs(int fd, StatFs* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statfs(string path, StatFs* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, StatX* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string source, string target, string fileSystemType, ulong flags, string? data);

    public const ulong MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8;

    /// <summary>openat2's number, the same on x86-64 and arm64 (new system calls share one table); glibc has no wrapper.</summary>
    public const long SYS_openat2 = 437;

    /// <summary>openat2 resolve flag: no path component may leave the starting directory (absolute symlinks, ".." above it).</summary>
    public const ulong RESOLVE_BENEATH = 0x08;

    /// <summary>openat2 resolve flag: no /proc magic links.</summary>
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02;

    [LibraryImport("libc", SetLastError = true)]
    public static partial long syscall(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int execve(byte* path, byte** argv, byte** envp);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setenv(byte* name, byte* value, int overwrite);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unsetenv(string name);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint signal(int signal, nint handler);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_addopen(void* actions, int fd, byte* path, int flags, uint mode);

    public const short POSIX_SPAWN_SETSID = 0x80;

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc")]
    public static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chdir(string path);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int dup2(int fd, int newFd);

    [LibraryImport("libc")]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlink(string path, byte* buffer, nint size);

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/>.</summary>
    public static byte[] Utf8Z(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>Opens with close-on-exec and EINTR retried; returns the fd or -1 with errno in <paramref name="errno"/>.</summary>
    public static int Open(string path, int flags, uint mode, out int errno)
    {
        fixed (byte* name = Utf8Z(path))
            return OpenAt(AT_FDCWD, name, flags, mode, out errno);
    }

    /// <summary>statx of <paramref name="path"/> (symlinks not followed when <paramref name="followSymlinks"/> is false); errno or 0.</summary>
    public static int Stat(string path, bool followSymlinks, out StatX stat)
    {
        StatX result;
        int rc = statx(AT_FDCWD, path, followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW, StatX.BasicStats, &result);
        stat = result;
        return rc == 0 ? 0 : LastError;
    }

    /// <summary>statx of <paramref name="name"/> in the directory <paramref name="dirfd"/>, symlinks not followed; errno or 0.</summary>
    public static int Stat(int dirfd, byte* name, out StatX stat)
    {
        StatX result;
        int rc = statxAt(dirfd, name, AT_SYMLINK_NOFOLLOW, StatX.BasicStats, &result);
        stat = result;
        return rc == 0 ? 0 : LastError;
    }

    /// <summary>openat with close-on-exec and EINTR retried; the fd, or -1 with errno in <paramref name="errno"/>.</summary>
    public static int OpenAt(int dirfd, byte* name, int flags, uint mode, out int errno)
    {
        while (true)
        {
            int fd = openat(dirfd, name, flags | O_CLOEXEC, mode);
            if (fd >= 0)
            {
                errno = 0;
                return fd;
            }
            errno = LastError;
            if (errno != EINTR)
                return -1;
        }
    }

    /// <summary>flock with EINTR retried; errno or 0.</summary>
    public static int Flock(int fd, int operation)
    {
        while (flock(fd, operation) != 0)
        {
            int errno = LastError;
            if (errno != EINTR)
                return errno;
        }
        return 0;
    }

    /// <summary>The canonical path of an existing <paramref name="path"/> (symlinks resolved), or null.</summary>
    public static string? RealPath(string path)
    {
        byte* resolved = realpath(path, null);
        if (resolved == null)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8((nint)resolved);
        }
        finally
        {
            free(resolved);
        }
    }

    /// <summary>Whether two stats are of the same file (device and inode).</summary>
    public static bool SameFile(in StatX a, in StatX b) =>
        a.Ino == b.Ino && a.DevMajor == b.DevMajor && a.DevMinor == b.DevMinor;

    /// <summary>Writes all of <paramref name="bytes"/>; errno or 0.</summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* start = bytes)
        {
            int done = 0;
            while (done < bytes.Length)
            {
                nint written = write(fd, start + done, bytes.Length - done);
                if (written > 0)
                    done += (int)written;
                else if (written < 0 && LastError == EINTR)
                    continue;
                else
                    return written < 0 ? LastError : EIO;
            }
        }
        return 0;
    }

    /// <summary>statx of an open descriptor; errno or 0.</summary>
    public static int Stat(int fd, out StatX stat)
    {
        StatX result;
        int rc = statx(fd, "", AT_EMPTY_PATH, StatX.BasicStats, &result);
        stat = result;
        return rc == 0 ? 0 : LastError;
    }

    /// <summary>The target of a symbolic link, or null.</summary>
    public static string? ReadLink(string path)
    {
        byte* buffer = stackalloc byte[4096];
        nint length = readlink(path, buffer, 4096);
        return length <= 0 || length >= 4096 ? null : Encoding.UTF8.GetString(buffer, (int)length);
    }
}

/// <summary>struct open_how of openat2.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct OpenHow
{
    public ulong Flags;
    public ulong Mode;
    public ulong Resolve;
}

/// <summary>struct statfs of 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct StatFs
{
    public long Type;
    public long BlockSize;
    public ulong Blocks;
    public ulong BlocksFree;
    public ulong BlocksAvailable;
    public ulong Files;
    public ulong FilesFree;
    public ulong FsId;
    public long NameLength;
    public long FragmentSize;
    public long Flags;
    private unsafe fixed long _spare[4];
}
