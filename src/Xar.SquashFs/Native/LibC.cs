using System.Runtime.InteropServices;

namespace Xar.SquashFs.Native;

/// <summary>
/// The few libc calls the writer's hot path needs directly: opening and reading tens of thousands
/// of small files through FileStream/SafeFileHandle costs extra syscalls (fstat, flock) per file.
/// </summary>
internal static unsafe partial class LibC
{
    public const int O_RDONLY = 0;

    // O_DIRECTORY and O_NOFOLLOW (so O_TMPFILE) are not generic: arm64 has its own values, and
    // x86-64's mean O_DIRECT and O_LARGEFILE there (an O_DIRECT open fails on tmpfs; O_NOFOLLOW
    // would silently follow symlinks). The only definitions: Posix and Xar.Runtime's LibC take these.
    private static bool IsArm64 => RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
    public static readonly int O_NOFOLLOW = IsArm64 ? 0x8000 : 0x20000;
    public static readonly int O_DIRECTORY = IsArm64 ? 0x4000 : 0x10000;
    public static readonly int O_TMPFILE = 0x400000 | O_DIRECTORY; // __O_TMPFILE | O_DIRECTORY
    public const int O_CLOEXEC = 0x80000;
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int EINTR = 4;
    public const int ENODATA = 61;
    public const int ERANGE = 34;
    public const int ENOTSUP = 95;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int open(byte* path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint pread(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int statx(int dirfd, byte* path, int flags, uint mask, StatX* buffer);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint readlink(byte* path, byte* buffer, nint size);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint llistxattr(byte* path, byte* list, nint size);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint lgetxattr(byte* path, byte* name, byte* value, nint size);

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>
    /// Reads from offset 0 until <paramref name="buffer"/> is full or the file ends, and returns
    /// the count. A short read from a regular file means end of file, so a buffer one byte larger
    /// than the expected size detects a file that grew, in a single call.
    /// </summary>
    public static int PReadToEnd(int fd, Span<byte> buffer)
    {
        int total = 0;
        fixed (byte* p = buffer)
        {
            while (total < buffer.Length)
            {
                nint n = pread(fd, p + total, buffer.Length - total, total);
                if (n > 0)
                {
                    total += (int)n;
                    if (total < buffer.Length) break;
                    continue;
                }
                if (n == 0) break;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR) throw new IOException(ErrorText(errno));
            }
        }
        return total;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns fewer only at end of file.</summary>
    public static int PReadFully(int fd, Span<byte> buffer, long offset)
    {
        int total = 0;
        fixed (byte* p = buffer)
        {
            while (total < buffer.Length)
            {
                nint n = pread(fd, p + total, buffer.Length - total, offset + total);
                if (n > 0) { total += (int)n; continue; }
                if (n == 0) break;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR) throw new IOException(ErrorText(errno));
            }
        }
        return total;
    }
}

/// <summary>struct statx (linux/stat.h): one layout on every architecture, unlike struct stat.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct StatX
{
    public uint Mask;
    public uint BlockSize;
    public ulong Attributes;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ushort Mode;
    private ushort _spare0;
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong AttributesMask;
    public StatXTimestamp Atime;
    public StatXTimestamp Btime;
    public StatXTimestamp Ctime;
    public StatXTimestamp Mtime;
    public uint RdevMajor;
    public uint RdevMinor;
    public uint DevMajor;
    public uint DevMinor;
    private unsafe fixed ulong _spare2[14];

    /// <summary>STATX_BASIC_STATS: type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks.</summary>
    public const uint BasicStats = 0x7ff;

    public readonly bool IsDirectory => (Mode & 0xF000) == 0x4000;

    public readonly bool IsRegularFile => (Mode & 0xF000) == 0x8000;

    public readonly bool IsSymbolicLink => (Mode & 0xF000) == 0xA000;

    /// <summary>Permission bits including set-id and sticky (mode &amp; 07777).</summary>
    public readonly int Permissions => Mode & 0xFFF;
}

[StructLayout(LayoutKind.Sequential)]
internal struct StatXTimestamp
{
    public long Seconds;
    public uint Nanoseconds;
    private int _reserved;
}

internal static unsafe partial class LibC
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint opendir(byte* path);

    /// <summary>Returns a struct dirent64*; on 64-bit glibc readdir and readdir64 share that layout.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial DirEnt64* readdir64(nint dir);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int closedir(nint dir);
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DirEnt64
{
    public ulong Ino;
    public long Offset;
    public ushort RecordLength;
    public byte Type;
    public fixed byte Name[256];
}

/// <summary>
/// What <see cref="OutputFile"/> needs (files created, renamed and removed relative to a directory
/// descriptor, symlinks resolved by the kernel) and <see cref="Writing.DataExtents"/> (SEEK_DATA/SEEK_HOLE).
/// </summary>
internal static unsafe partial class LibC
{
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_PATH = 0x200000;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int AT_SYMLINK_FOLLOW = 0x400;
    public const int ENOENT = 2;
    public const int ENXIO = 6;
    public const int EEXIST = 17;
    public const int SEEK_END = 2;
    public const int SEEK_DATA = 3;
    public const int SEEK_HOLE = 4;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int renameat(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, StatX* buffer);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint readlink(string path, byte* buffer, nint size);

    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>statx of <paramref name="path"/> relative to <paramref name="dirfd"/> (or of <paramref name="dirfd"/> itself for ""); errno or 0.</summary>
    public static int Stat(int dirfd, string path, int flags, out StatX stat)
    {
        StatX result;
        int rc = statx(dirfd, path, flags, StatX.BasicStats, &result);
        stat = result;
        return rc == 0 ? 0 : LastError;
    }

    /// <summary>The target of a symbolic link, or null.</summary>
    public static string? ReadLink(string path)
    {
        byte* buffer = stackalloc byte[4096];
        nint length = readlink(path, buffer, 4096);
        return length <= 0 || length >= 4096 ? null : System.Text.Encoding.UTF8.GetString(buffer, (int)length);
    }
}

/// <summary>
/// What the FUSE server (Xar.Fuse) needs: the /dev/fuse read loop, mount(2)/umount2, and the
/// fusermount3 hand-over of a descriptor over a socket (SCM_RIGHTS).
/// </summary>
internal static unsafe partial class LibC
{
    public const int EAGAIN = 11;
    public const int ENODEV = 19;
    public const int EPERM = 1;
    public const int EIO = 5;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int ENOSYS = 38;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EPROTO = 71;
    public const int EROFS = 30;
    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const int MNT_DETACH = 2;
    public const int UMOUNT_NOFOLLOW = 8;
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;
    public const short POSIX_SPAWN_SETSID = 0x80;

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string source, string target, string fileSystemType, ulong flags, string data);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recvmsg(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc")]
    public static partial uint geteuid();

    [LibraryImport("libc")]
    public static partial uint getegid();

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc")]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);
}

/// <summary>struct msghdr of 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Vectors;
    public nuint VectorCount;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVector
{
    public void* Base;
    public nuint Length;
}
