using Xar.Interop;

namespace Xar.SquashFs.Reading;

/// <summary>
/// Block-sized buffers for one image: the block caches' decompressed blocks, compressed blocks
/// read for decompression and extraction's per-thread blocks. A new buffer gets its pages in one
/// <c>madvise(MADV_POPULATE_WRITE)</c> instead of a page fault per 4 KiB as the decompressor
/// first writes it: an extraction fills tens of megabytes of new buffers (awscli: 16 fragment
/// blocks of 1 MiB in the cache alone), and in a VM a fault costs about 6 µs where populating
/// costs 0.3–0.4 µs a page the host already backs (README.md, "Caches").
/// Returned buffers are kept for reuse, at most <see cref="MaxSpare"/>.
/// </summary>
internal sealed class BlockBuffers(int size)
{
    /// <summary>Spare buffers kept: a cache's evictions and the threads' buffers cycle through a few.</summary>
    private const int MaxSpare = 16;

    private readonly Stack<byte[]> _spare = new();

    public int Size { get; } = size;

    public byte[] Rent()
    {
        lock (_spare)
        {
            if (_spare.TryPop(out byte[]? spare))
                return spare;
        }
        // Pinned, so that the pages populated are the array's for good.
        byte[] buffer = GC.AllocateUninitializedArray<byte>(Size, pinned: true);
        Populate(buffer);
        return buffer;
    }

    public void Return(byte[] buffer)
    {
        lock (_spare)
        {
            if (_spare.Count < MaxSpare)
                _spare.Push(buffer);
        }
    }

    /// <summary>Best effort: on a kernel without MADV_POPULATE_WRITE the pages fault in as they are written.</summary>
    private static unsafe void Populate(byte[] buffer)
    {
        nuint pageSize = (nuint)Environment.SystemPageSize; // 64 KiB on some arm64 kernels
        fixed (byte* start = buffer)
        {
            nuint first = ((nuint)start + pageSize - 1) & ~(pageSize - 1);
            nuint end = ((nuint)start + (nuint)buffer.Length) & ~(pageSize - 1);
            if (end > first)
                LibC.madvise((void*)first, end - first, LibC.MADV_POPULATE_WRITE);
        }
    }
}
