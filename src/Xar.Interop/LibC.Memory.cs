using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>Filling new memory's pages at once (the SquashFS reader's block buffers).</summary>
public static unsafe partial class LibC
{
    /// <summary>Linux 5.14: fault the range in, writable, in one call (EINVAL on older kernels).</summary>
    public const int MADV_POPULATE_WRITE = 23;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(void* address, nuint length, int advice);

    /// <summary>One byte per page of the range, bit 0 set when the page is in memory (the tests, to see what was populated).</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int mincore(void* address, nuint length, byte* residency);
}
