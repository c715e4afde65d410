using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>Asking the kernel to read a file's pages ahead, asynchronously (the launcher, for the FUSE daemon it starts).</summary>
public static partial class LibC
{
    public const int POSIX_FADV_WILLNEED = 3;

    /// <summary>Returns 0 or the error number (posix_fadvise does not set errno).</summary>
    [LibraryImport("libc")]
    public static partial int posix_fadvise(int fd, long offset, long length, int advice);
}
