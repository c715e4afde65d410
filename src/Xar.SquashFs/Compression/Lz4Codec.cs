using System.Runtime.InteropServices;

namespace Xar.SquashFs.Compression;

/// <summary>
/// SquashFS "lz4" blocks: the raw LZ4 block format, no frame. Level 0 is LZ4_compress_default;
/// 1..12 is LZ4 HC at that level (the options block records only "HC"; mksquashfs -Xhc uses 9).
/// </summary>
internal sealed unsafe class Lz4Compressor : BlockCompressor
{
    private readonly int _level;
    private readonly Lz4HighCompressionState? _highCompressionState;

    public Lz4Compressor(int level)
    {
        NativeCodecLibrary.Lz4.EnsureLoaded("lz4");
        _level = level;
        // LZ4_compress_HC mallocs its ~256 KiB state on every call; the extState variant, which
        // it wraps, compresses identically with a state allocated once here.
        if (level > 0) _highCompressionState = new Lz4HighCompressionState();
    }

    public override int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int limit = OutputLimit(source, destination);
        if (limit <= 0) return 0;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            // Both return 0 when the result does not fit in limit bytes.
            int length = _highCompressionState is null
                ? Lz4Native.LZ4_compress_default(src, dst, source.Length, limit)
                : Lz4Native.LZ4_compress_HC_extStateHC(_highCompressionState, src, dst, source.Length, limit, _level);
            if (length < 0) throw new SquashFsException($"lz4: compression failed ({length})");
            return length;
        }
    }

    public override void Dispose()
    {
        _highCompressionState?.Dispose();
        base.Dispose();
    }
}

internal sealed unsafe class Lz4Decompressor : BlockDecompressor
{
    public Lz4Decompressor() => NativeCodecLibrary.Lz4.EnsureLoaded("lz4");

    public override int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            int length = Lz4Native.LZ4_decompress_safe(src, dst, source.Length, destination.Length);
            // LZ4 reports malformed input and output overrun with the same negative result.
            if (length < 0)
                throw new SquashFsException($"lz4: corrupt block, or it expands beyond {destination.Length} bytes (error at input byte {-length - 1})");
            return length;
        }
    }
}

/// <summary>An LZ4_streamHC_t in native memory, freed by Dispose or, if that never happens, by the finalizer.</summary>
internal sealed unsafe class Lz4HighCompressionState : SafeHandle
{
    public Lz4HighCompressionState() : base(0, ownsHandle: true) =>
        SetHandle((nint)NativeMemory.AlignedAlloc((nuint)Lz4Native.LZ4_sizeofStateHC(), (nuint)sizeof(nint)));

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}

/// <summary>The part of liblz4's stable API (lz4.h, lz4hc.h, 1.7+) that block codecs need.</summary>
internal static unsafe partial class Lz4Native
{
    public const string LibraryName = "liblz4.so.1";

    [LibraryImport(LibraryName)]
    public static partial int LZ4_compress_default(byte* source, byte* destination, int sourceSize, int destinationCapacity);

    [LibraryImport(LibraryName)]
    public static partial int LZ4_sizeofStateHC();

    [LibraryImport(LibraryName)]
    public static partial int LZ4_compress_HC_extStateHC(Lz4HighCompressionState state,
        byte* source, byte* destination, int sourceSize, int destinationCapacity, int level);

    [LibraryImport(LibraryName)]
    public static partial int LZ4_decompress_safe(byte* source, byte* destination, int compressedSize, int destinationCapacity);
}
