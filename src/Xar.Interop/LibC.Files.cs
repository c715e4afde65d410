using System.Runtime.InteropServices;
using System.Text;

namespace Xar.Interop;

/// <summary>
/// Files and descriptors: opening (relative to a directory descriptor, never following symlinks
/// where it matters), reading and writing at offsets, metadata, locks, links and extended
/// attributes. The *at calls also take names as NUL-terminated bytes: names in an image need not
/// be UTF-8.
/// </summary>
public static unsafe partial class LibC
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_APPEND = 0x400;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int O_PATH = 0x200000;

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_SYMLINK_FOLLOW = 0x400;
    public const int AT_EMPTY_PATH = 0x1000;

    public const int SEEK_END = 2;
    public const int SEEK_DATA = 3;
    public const int SEEK_HOLE = 4;

    public const int F_DUPFD = 0;
    public const int F_SETFD = 2;
    public const int F_SETFL = 4;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int FD_CLOEXEC = 1;

    public const int LOCK_SH = 1;
    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;

    public const int R_OK = 4;
    public const int W_OK = 2;
    public const int X_OK = 1;

    /// <summary>File types of st_mode, for mknod.</summary>
    public const uint S_IFSOCK = 0xC000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFIFO = 0x1000;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int open(byte* path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int openat(int dirfd, byte* name, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint pread(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint pwrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchown(int fd, uint uid, uint gid);

    /// <summary>Null <paramref name="times"/>: both set to now.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int futimens(int fd, TimeSpec* times);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int statx(int dirfd, byte* name, int flags, uint mask, StatX* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, StatX* buffer);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchmodat(int dirfd, byte* name, uint mode, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchownat(int dirfd, byte* name, uint uid, uint gid, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int utimensat(int dirfd, byte* name, TimeSpec* times, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int mknodat(int dirfd, byte* name, uint mode, ulong device);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int symlinkat(byte* target, int dirfd, byte* name);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int linkat(int olddirfd, byte* oldname, int newdirfd, byte* newname, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int renameat(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int unlinkat(int dirfd, byte* name, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rename(string from, string to);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlink(string path);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint readlink(byte* path, byte* buffer, nint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlink(string path, byte* buffer, nint size);

    /// <summary>With a null <paramref name="resolved"/>, returns a malloc'd buffer to <see cref="free"/>.</summary>
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial byte* realpath(string path, byte* resolved);

    [LibraryImport("libc")]
    public static partial void free(void* pointer);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint llistxattr(byte* path, byte* list, nint size);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint lgetxattr(byte* path, byte* name, byte* value, nint size);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fsetxattr(int fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int lsetxattr(byte* path, byte* name, byte* value, nuint size, int flags);

    /// <summary>openat2's number, the same on x86-64 and arm64 (new system calls share one table); glibc has no wrapper.</summary>
    public const long SYS_openat2 = 437;

    /// <summary>openat2 resolve flag: no path component may leave the starting directory (absolute symlinks, ".." above it).</summary>
    public const ulong RESOLVE_BENEATH = 0x08;

    /// <summary>openat2 resolve flag: no /proc magic links.</summary>
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02;

    [LibraryImport("libc", SetLastError = true)]
    public static partial long syscall(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    /// <summary>Opens with close-on-exec and EINTR retried; returns the fd or -1 with errno in <paramref name="errno"/>.</summary>
    public static int Open(string path, int flags, uint mode, out int errno)
    {
        fixed (byte* name = Utf8Z(path))
            return OpenAt(AT_FDCWD, name, flags, mode, out errno);
    }

    /// <summary>openat with close-on-exec and EINTR retried; the fd, or -1 with errno in <paramref name="errno"/> (and <see cref="LastError"/>).</summary>
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

    /// <summary>openat with close-on-exec and EINTR retried; the fd, or -1 with errno in <see cref="LastError"/>.</summary>
    public static int OpenAt(int dirfd, ReadOnlySpan<byte> name, int flags, uint mode)
    {
        fixed (byte* p = Terminated(name))
            return OpenAt(dirfd, p, flags, mode, out _);
    }

    /// <summary>statx of <paramref name="path"/> (symlinks not followed when <paramref name="followSymlinks"/> is false); errno or 0.</summary>
    public static int Stat(string path, bool followSymlinks, out StatX stat) =>
        Stat(AT_FDCWD, path, followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW, out stat);

    /// <summary>statx of <paramref name="path"/> relative to <paramref name="dirfd"/> (or of <paramref name="dirfd"/> itself for "" and AT_EMPTY_PATH); errno or 0.</summary>
    public static int Stat(int dirfd, string path, int flags, out StatX stat)
    {
        StatX result;
        int rc = statx(dirfd, path, flags, StatX.BasicStats, &result);
        stat = result;
        return rc == 0 ? 0 : LastError;
    }

    /// <summary>statx of <paramref name="name"/> in the directory <paramref name="dirfd"/>, symlinks not followed; errno or 0.</summary>
    public static int Stat(int dirfd, byte* name, out StatX stat)
    {
        StatX result;
        int rc = statx(dirfd, name, AT_SYMLINK_NOFOLLOW, StatX.BasicStats, &result);
        stat = result;
        return rc == 0 ? 0 : LastError;
    }

    /// <summary>statx of an open descriptor; errno or 0.</summary>
    public static int Stat(int fd, out StatX stat) => Stat(fd, "", AT_EMPTY_PATH, out stat);

    /// <summary>Whether two stats are of the same file (device and inode).</summary>
    public static bool SameFile(in StatX a, in StatX b) =>
        a.Ino == b.Ino && a.DevMajor == b.DevMajor && a.DevMinor == b.DevMinor;

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
                int errno = LastError;
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
                int errno = LastError;
                if (errno != EINTR) throw new IOException(ErrorText(errno));
            }
        }
        return total;
    }

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

    /// <summary>Writes the whole buffer at <paramref name="offset"/>, retrying short writes; returns 0 or an errno.</summary>
    public static int PWriteAll(int fd, ReadOnlySpan<byte> buffer, long offset)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint n = pwrite(fd, start + done, (nuint)(buffer.Length - done), offset + done);
                if (n < 0)
                {
                    int errno = LastError;
                    if (errno == EINTR) continue;
                    return errno;
                }
                done += (int)n;
            }
            return 0;
        }
    }

    public static int FTruncate(int fd, long length) => Check(ftruncate(fd, length));
    public static int FChmod(int fd, uint mode) => Check(fchmod(fd, mode));
    public static int FChown(int fd, uint uid, uint gid) => Check(fchown(fd, uid, gid));

    /// <summary>Sets atime and mtime of <paramref name="fd"/> to <paramref name="seconds"/>; errno or 0.</summary>
    public static int FUtimens(int fd, long seconds)
    {
        TimeSpec* times = stackalloc TimeSpec[2];
        times[0] = new TimeSpec { Seconds = seconds };
        times[1] = new TimeSpec { Seconds = seconds };
        return Check(futimens(fd, times));
    }

    public static int MkdirAt(int dirfd, ReadOnlySpan<byte> name, uint mode)
    {
        fixed (byte* p = Terminated(name)) return Check(mkdirat(dirfd, p, mode));
    }

    public static int SymlinkAt(ReadOnlySpan<byte> target, int dirfd, ReadOnlySpan<byte> name)
    {
        fixed (byte* t = Terminated(target))
        fixed (byte* p = Terminated(name))
            return Check(symlinkat(t, dirfd, p));
    }

    /// <summary>link(2) without AT_SYMLINK_FOLLOW: a symlink is linked itself, never its target.</summary>
    public static int LinkAt(int dirfd, ReadOnlySpan<byte> existing, ReadOnlySpan<byte> name)
    {
        fixed (byte* o = Terminated(existing))
        fixed (byte* n = Terminated(name))
            return Check(linkat(dirfd, o, dirfd, n, 0));
    }

    public static int MknodAt(int dirfd, ReadOnlySpan<byte> name, uint mode, ulong device)
    {
        fixed (byte* p = Terminated(name)) return Check(mknodat(dirfd, p, mode, device));
    }

    public static int FChmodAt(int dirfd, ReadOnlySpan<byte> name, uint mode)
    {
        fixed (byte* p = Terminated(name)) return Check(fchmodat(dirfd, p, mode, 0));
    }

    public static int LChownAt(int dirfd, ReadOnlySpan<byte> name, uint uid, uint gid)
    {
        fixed (byte* p = Terminated(name)) return Check(fchownat(dirfd, p, uid, gid, AT_SYMLINK_NOFOLLOW));
    }

    /// <summary>Sets atime and mtime of the entry itself (a symlink is not followed).</summary>
    public static int LUtimesAt(int dirfd, ReadOnlySpan<byte> name, long seconds)
    {
        TimeSpec* times = stackalloc TimeSpec[2];
        times[0] = new TimeSpec { Seconds = seconds };
        times[1] = new TimeSpec { Seconds = seconds };
        fixed (byte* p = Terminated(name)) return Check(utimensat(dirfd, p, times, AT_SYMLINK_NOFOLLOW));
    }

    public static int UnlinkAt(int dirfd, ReadOnlySpan<byte> name, int flags)
    {
        fixed (byte* p = Terminated(name)) return Check(unlinkat(dirfd, p, flags));
    }

    public static int FSetXattr(int fd, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        fixed (byte* n = Terminated(name))
        fixed (byte* v = value)
            return Check(fsetxattr(fd, n, v, (nuint)value.Length, 0));
    }

    public static int LSetXattr(ReadOnlySpan<byte> path, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = Terminated(path))
        fixed (byte* n = Terminated(name))
        fixed (byte* v = value)
            return Check(lsetxattr(p, n, v, (nuint)value.Length, 0));
    }

    /// <summary>glibc's makedev: the 64-bit dev_t layout.</summary>
    public static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8)
        | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);

    /// <summary>The target of a symbolic link, or null.</summary>
    public static string? ReadLink(string path)
    {
        byte* buffer = stackalloc byte[4096];
        nint length = readlink(path, buffer, 4096);
        return length <= 0 || length >= 4096 ? null : Encoding.UTF8.GetString(buffer, (int)length);
    }

    /// <summary>The canonical path of an existing <paramref name="path"/> (every symlink along it resolved), or null.</summary>
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
}
