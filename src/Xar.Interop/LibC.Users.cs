using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>Users and ids: whose process this is (root or not decides how to mount and whom to trust), and its umask.</summary>
public static unsafe partial class LibC
{
    [LibraryImport("libc")]
    public static partial uint getuid();

    [LibraryImport("libc")]
    public static partial uint geteuid();

    [LibraryImport("libc")]
    public static partial uint getegid();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getgroups(int size, uint* list);

    [LibraryImport("libc")]
    public static partial uint umask(uint mask);
}
