using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>Directories: created, listed (dirent64 by dirent64, without a managed allocation per entry) and removed.</summary>
public static unsafe partial class LibC
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdir(string path, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int mkdirat(int dirfd, byte* name, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rmdir(string path);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint opendir(byte* path);

    /// <summary>Takes ownership of <paramref name="fd"/>: <see cref="closedir"/> closes it.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint fdopendir(int fd);

    /// <summary>Returns a struct dirent64*; on 64-bit glibc readdir and readdir64 share that layout.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial DirEnt64* readdir64(nint dir);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int closedir(nint dir);
}
