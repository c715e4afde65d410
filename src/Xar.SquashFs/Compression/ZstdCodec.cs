using System.Runtime.InteropServices;

namespace Xar.SquashFs.Compression;

/// <summary>SquashFS "zstd" blocks: one zstd frame per block, as mksquashfs writes with ZSTD_compressCCtx.</summary>
internal sealed unsafe class ZstdCompressor : BlockCompressor
{
    private readonly ZstdCompressionContextHandle _context;
    private readonly int _level;

    public ZstdCompressor(int level)
    {
        NativeCodecLibrary.Zstd.EnsureLoaded("zstd");
        _level = level;
        CacheIdentity = $"zstd {ZstdNative.Version} level {level}";
        _context = ZstdNative.ZSTD_createCCtx();
        if (_context.IsInvalid) throw new OutOfMemoryException("zstd: ZSTD_createCCtx failed");
    }

    /// <summary>The library's version with the level: another libzstd may compress the same block otherwise.</summary>
    public override string CacheIdentity { get; }

    public override int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int limit = OutputLimit(source, destination);
        if (limit <= 0) return 0;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            // The context keeps its workspace between calls; with a fixed level and block size
            // nothing is allocated after the first block.
            nuint result = ZstdNative.ZSTD_compressCCtx(_context, dst, (nuint)limit, src, (nuint)source.Length, _level);
            if (ZstdNative.ZSTD_isError(result) == 0) return (int)result;
            if (ZstdNative.ZSTD_getErrorCode(result) == ZstdNative.ErrorDestinationTooSmall) return 0;
            throw new SquashFsException($"zstd: compression failed ({ZstdNative.ErrorName(result)})");
        }
    }

    public override void Dispose()
    {
        _context.Dispose();
        base.Dispose();
    }
}

internal sealed unsafe class ZstdDecompressor : BlockDecompressor
{
    private readonly ZstdDecompressionContextHandle _context;

    public ZstdDecompressor()
    {
        NativeCodecLibrary.Zstd.EnsureLoaded("zstd");
        _context = ZstdNative.ZSTD_createDCtx();
        if (_context.IsInvalid) throw new OutOfMemoryException("zstd: ZSTD_createDCtx failed");
    }

    public override int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        // libzstd decodes zero frames to zero bytes without complaint; no block is empty.
        if (source.IsEmpty) throw new SquashFsException("zstd: corrupt block (empty)");
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            nuint result = ZstdNative.ZSTD_decompressDCtx(_context, dst, (nuint)destination.Length, src, (nuint)source.Length);
            if (ZstdNative.ZSTD_isError(result) == 0) return (int)result;
            if (ZstdNative.ZSTD_getErrorCode(result) == ZstdNative.ErrorDestinationTooSmall)
                throw new SquashFsException($"zstd: block expands beyond {destination.Length} bytes");
            throw new SquashFsException($"zstd: corrupt block ({ZstdNative.ErrorName(result)})");
        }
    }

    public override void Dispose()
    {
        _context.Dispose();
        base.Dispose();
    }
}

/// <summary>Owns a ZSTD_CCtx; freed by Dispose or, if that never happens, by the finalizer.</summary>
internal sealed class ZstdCompressionContextHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        ZstdNative.ZSTD_freeCCtx(handle);
        return true;
    }
}

/// <summary>Owns a ZSTD_DCtx; freed by Dispose or, if that never happens, by the finalizer.</summary>
internal sealed class ZstdDecompressionContextHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        ZstdNative.ZSTD_freeDCtx(handle);
        return true;
    }
}

/// <summary>The part of libzstd's stable API (zstd.h, 1.4+) that block codecs need.</summary>
internal static unsafe partial class ZstdNative
{
    public const string LibraryName = "libzstd.so.1";

    /// <summary>ZSTD_error_dstSize_tooSmall from zstd_errors.h.</summary>
    public const int ErrorDestinationTooSmall = 70;

    [LibraryImport(LibraryName)]
    public static partial ZstdCompressionContextHandle ZSTD_createCCtx();

    [LibraryImport(LibraryName)]
    public static partial nuint ZSTD_freeCCtx(nint context);

    [LibraryImport(LibraryName)]
    public static partial ZstdDecompressionContextHandle ZSTD_createDCtx();

    [LibraryImport(LibraryName)]
    public static partial nuint ZSTD_freeDCtx(nint context);

    [LibraryImport(LibraryName)]
    public static partial nuint ZSTD_compressCCtx(ZstdCompressionContextHandle context,
        byte* destination, nuint destinationCapacity, byte* source, nuint sourceSize, int level);

    [LibraryImport(LibraryName)]
    public static partial nuint ZSTD_decompressDCtx(ZstdDecompressionContextHandle context,
        byte* destination, nuint destinationCapacity, byte* source, nuint sourceSize);

    [LibraryImport(LibraryName)]
    public static partial uint ZSTD_isError(nuint result);

    [LibraryImport(LibraryName)]
    public static partial int ZSTD_getErrorCode(nuint result);

    [LibraryImport(LibraryName)]
    private static partial nint ZSTD_getErrorName(nuint result);

    [LibraryImport(LibraryName)]
    private static partial nint ZSTD_versionString();

    public static string Version => Marshal.PtrToStringUTF8(ZSTD_versionString()) ?? "unknown";

    public static string ErrorName(nuint result) => Marshal.PtrToStringUTF8(ZSTD_getErrorName(result)) ?? "unknown error";
}
