using System.Runtime.InteropServices;

namespace Xar.SquashFs.Reading;

/// <summary>
/// The Linux system calls extraction needs and .NET does not expose with the semantics required:
/// names as raw bytes (image names need not be valid UTF-8), *at calls relative to the destination
/// directory, never following symlinks, device nodes, hard links and lutimes-style times.
/// Constants are the Linux generic/x86-64 values, which arm64 shares but for the open flags
/// <see cref="ODirectory"/> and <see cref="ONoFollow"/> (from <see cref="Native.LibC"/>).
/// </summary>
internal static unsafe partial class Posix
{
    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtRemoveDir = 0x200;

    public const int OWriteOnly = 0x1;
    public const int OCreate = 0x40;
    public const int OExclusive = 0x80;
    public static readonly int ODirectory = Native.LibC.O_DIRECTORY;
    public static readonly int ONoFollow = Native.LibC.O_NOFOLLOW;
    public const int OCloseOnExec = 0x80000;
    public const int OReadOnly = 0;

    public const uint SIfSock = 0xC000;
    public const uint SIfBlk = 0x6000;
    public const uint SIfChr = 0x2000;
    public const uint SIfIfo = 0x1000;

    public const int EIntr = 4;
    public const int EExist = 17;
    public const int EIsDir = 21;

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static partial int OpenAtNative(int dirFd, byte* path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int FStatFsNative(int fd, long* buffer);

    /// <summary>statfs f_type of tmpfs and ramfs (linux/magic.h): file systems without a journal.</summary>
    public const long TmpfsMagic = 0x01021994;
    public const long RamfsMagic = 0x858458f6;

    /// <summary>The f_type of the file system <paramref name="fd"/> is on, or 0 when unknown.</summary>
    public static long FileSystemType(int fd)
    {
        long* buffer = stackalloc long[16]; // struct statfs is 120 bytes on 64-bit Linux; f_type comes first
        return FStatFsNative(fd, buffer) == 0 ? buffer[0] : 0;
    }

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint PWriteNative(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int FTruncateNative(int fd, long length);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FChmodNative(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FChownNative(int fd, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int FUtimensNative(int fd, TimeSpec* times);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static partial int MkdirAtNative(int dirFd, byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true)]
    private static partial int SymlinkAtNative(byte* target, int dirFd, byte* path);

    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true)]
    private static partial int LinkAtNative(int oldDirFd, byte* oldPath, int newDirFd, byte* newPath, int flags);

    [LibraryImport("libc", EntryPoint = "mknodat", SetLastError = true)]
    private static partial int MknodAtNative(int dirFd, byte* path, uint mode, ulong device);

    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true)]
    private static partial int FChmodAtNative(int dirFd, byte* path, uint mode, int flags);

    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true)]
    private static partial int FChownAtNative(int dirFd, byte* path, uint uid, uint gid, int flags);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true)]
    private static partial int UtimensAtNative(int dirFd, byte* path, TimeSpec* times, int flags);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static partial int UnlinkAtNative(int dirFd, byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true)]
    private static partial int FSetXattrNative(int fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true)]
    private static partial int LSetXattrNative(byte* path, byte* name, byte* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>An <see cref="IOException"/> for a failed call, naming the operation and the path.</summary>
    public static IOException Failure(string operation, string path, int errno) =>
        new($"{operation} '{path}' failed: {Describe(errno)} (errno {errno})", errno);

    public static int OpenAt(int dirFd, ReadOnlySpan<byte> path, int flags, uint mode)
    {
        fixed (byte* p = Terminated(path))
        {
            int fd;
            do fd = OpenAtNative(dirFd, p, flags | OCloseOnExec, mode);
            while (fd < 0 && LastError == EIntr);
            return fd;
        }
    }

    /// <summary>Writes the whole buffer at <paramref name="offset"/>, retrying short writes; returns 0 or an errno.</summary>
    public static int PWriteAll(int fd, ReadOnlySpan<byte> buffer, long offset)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint n = PWriteNative(fd, start + done, (nuint)(buffer.Length - done), offset + done);
                if (n < 0)
                {
                    int errno = LastError;
                    if (errno == EIntr) continue;
                    return errno;
                }
                done += (int)n;
            }
            return 0;
        }
    }

    public static int FTruncate(int fd, long length) => Check(FTruncateNative(fd, length));
    public static int FChmod(int fd, uint mode) => Check(FChmodNative(fd, mode));
    public static int FChown(int fd, uint uid, uint gid) => Check(FChownNative(fd, uid, gid));

    public static int FUtimens(int fd, long seconds)
    {
        TimeSpec* times = stackalloc TimeSpec[2];
        times[0] = new TimeSpec { Seconds = seconds };
        times[1] = new TimeSpec { Seconds = seconds };
        return Check(FUtimensNative(fd, times));
    }

    public static int MkdirAt(int dirFd, ReadOnlySpan<byte> path, uint mode)
    {
        fixed (byte* p = Terminated(path)) return Check(MkdirAtNative(dirFd, p, mode));
    }

    public static int SymlinkAt(ReadOnlySpan<byte> target, int dirFd, ReadOnlySpan<byte> path)
    {
        fixed (byte* t = Terminated(target))
        fixed (byte* p = Terminated(path))
            return Check(SymlinkAtNative(t, dirFd, p));
    }

    /// <summary>link(2) without AT_SYMLINK_FOLLOW: a symlink is linked itself, never its target.</summary>
    public static int LinkAt(int dirFd, ReadOnlySpan<byte> existing, ReadOnlySpan<byte> path)
    {
        fixed (byte* o = Terminated(existing))
        fixed (byte* n = Terminated(path))
            return Check(LinkAtNative(dirFd, o, dirFd, n, 0));
    }

    public static int MknodAt(int dirFd, ReadOnlySpan<byte> path, uint mode, ulong device)
    {
        fixed (byte* p = Terminated(path)) return Check(MknodAtNative(dirFd, p, mode, device));
    }

    public static int FChmodAt(int dirFd, ReadOnlySpan<byte> path, uint mode)
    {
        fixed (byte* p = Terminated(path)) return Check(FChmodAtNative(dirFd, p, mode, 0));
    }

    public static int LChownAt(int dirFd, ReadOnlySpan<byte> path, uint uid, uint gid)
    {
        fixed (byte* p = Terminated(path)) return Check(FChownAtNative(dirFd, p, uid, gid, AtSymlinkNoFollow));
    }

    /// <summary>Sets atime and mtime of the entry itself (a symlink is not followed).</summary>
    public static int LUtimesAt(int dirFd, ReadOnlySpan<byte> path, long seconds)
    {
        TimeSpec* times = stackalloc TimeSpec[2];
        times[0] = new TimeSpec { Seconds = seconds };
        times[1] = new TimeSpec { Seconds = seconds };
        fixed (byte* p = Terminated(path)) return Check(UtimensAtNative(dirFd, p, times, AtSymlinkNoFollow));
    }

    public static int UnlinkAt(int dirFd, ReadOnlySpan<byte> path, int flags)
    {
        fixed (byte* p = Terminated(path)) return Check(UnlinkAtNative(dirFd, p, flags));
    }

    public static int FSetXattr(int fd, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        fixed (byte* n = Terminated(name))
        fixed (byte* v = value)
            return Check(FSetXattrNative(fd, n, v, (nuint)value.Length, 0));
    }

    public static int LSetXattr(ReadOnlySpan<byte> path, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = Terminated(path))
        fixed (byte* n = Terminated(name))
        fixed (byte* v = value)
            return Check(LSetXattrNative(p, n, v, (nuint)value.Length, 0));
    }

    /// <summary>glibc's makedev: the 64-bit dev_t layout.</summary>
    public static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8)
        | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);

    /// <summary>
    /// Paths and names are passed as NUL-terminated byte spans; a missing terminator would make the
    /// kernel read past the span.
    /// </summary>
    private static ReadOnlySpan<byte> Terminated(ReadOnlySpan<byte> value) =>
        !value.IsEmpty && value[^1] == 0 ? value : throw new ArgumentException("native strings must end with NUL");

    /// <summary>0 on success, else the errno (so callers can branch on EEXIST without exceptions).</summary>
    private static int Check(int result) => result == 0 ? 0 : LastError;
}
