using System.Numerics;

namespace Xar.SquashFs.Compression;

/// <summary>
/// SquashFS "xz" blocks: each block is a complete .xz stream with a CRC32 check (the kernel's xz
/// decoder rejects the others), LZMA2 at the preset's settings with the configured dictionary size,
/// optionally preceded by one BCJ filter. Like mksquashfs, every requested BCJ filter is tried in
/// addition to plain LZMA2 and the smallest result wins (the earlier chain on a tie).
/// </summary>
internal sealed unsafe class XzCompressor : BlockCompressor
{
    /// <summary>Options-block filter bits in mksquashfs's order, with liblzma's filter ids.</summary>
    private static readonly (uint Bit, ulong FilterId)[] BcjFilters =
    [
        (0x01, LzmaNative.FilterX86),
        (0x02, LzmaNative.FilterPowerPc),
        (0x04, LzmaNative.FilterIa64),
        (0x08, LzmaNative.FilterArm),
        (0x10, LzmaNative.FilterArmThumb),
        (0x20, LzmaNative.FilterSparc),
    ];

    public const uint KnownFilterBits = 0x3F;

    private readonly LzmaOptions _lzma2Options;
    private readonly ulong[] _bcjFilterIds;
    private byte[] _candidate = [];

    public XzCompressor(int preset, int dictionarySize, uint bcjFilterBits, int blockSize)
    {
        NativeCodecLibrary.Lzma.EnsureLoaded("xz");
        ValidateDictionarySize(dictionarySize, blockSize);
        if ((bcjFilterBits & ~KnownFilterBits) != 0)
            throw new SquashFsException($"xz: unknown BCJ filter bits 0x{bcjFilterBits & ~KnownFilterBits:x}");
        LzmaOptions options;
        if (LzmaNative.lzma_lzma_preset(&options, (uint)preset) != 0)
            throw new SquashFsException($"xz: unsupported preset {preset}");
        options.DictionarySize = (uint)dictionarySize;
        _lzma2Options = options;
        _bcjFilterIds = BcjFilters.Where(f => (bcjFilterBits & f.Bit) != 0).Select(f => f.FilterId).ToArray();
    }

    /// <summary>
    /// The kernel sizes its buffers from the options block's dict_size and refuses to mount unless
    /// it is 2^n or 2^n + 2^(n-1); mksquashfs also requires 8 KiB ≤ dict_size ≤ block size.
    /// </summary>
    public static void ValidateDictionarySize(int dictionarySize, int blockSize)
    {
        if (dictionarySize < 8192 || dictionarySize > blockSize)
            throw new SquashFsException($"xz: dictionary size {dictionarySize} must be between 8192 and the block size {blockSize}");
        int highBit = 1 << BitOperations.Log2((uint)dictionarySize);
        if (dictionarySize != highBit && dictionarySize != highBit + (highBit >> 1))
            throw new SquashFsException($"xz: dictionary size {dictionarySize} must be 2^n or 2^n + 2^(n-1)");
    }

    public override int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int limit = OutputLimit(source, destination);
        if (limit <= 0) return 0;
        // liblzma reads the options through the chain's pointer during the call, so they live on
        // the stack, which does not move.
        LzmaOptions lzma2 = _lzma2Options;
        LzmaFilter* chain = stackalloc LzmaFilter[3];
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            chain[0] = new LzmaFilter(LzmaNative.FilterLzma2, &lzma2);
            chain[1] = new LzmaFilter(LzmaNative.FilterChainEnd, null);
            int best = Encode(chain, src, source.Length, dst, limit);
            if (_bcjFilterIds.Length == 0) return best;

            if (_candidate.Length < limit) _candidate = new byte[limit];
            fixed (byte* candidate = _candidate)
            {
                foreach (ulong bcj in _bcjFilterIds)
                {
                    chain[0] = new LzmaFilter(bcj, null);
                    chain[1] = new LzmaFilter(LzmaNative.FilterLzma2, &lzma2);
                    chain[2] = new LzmaFilter(LzmaNative.FilterChainEnd, null);
                    // Only a strictly smaller result can win, so give the encoder no more room than that.
                    int length = Encode(chain, src, source.Length, candidate, best > 0 ? best - 1 : limit);
                    if (length == 0) continue;
                    new ReadOnlySpan<byte>(candidate, length).CopyTo(destination);
                    best = length;
                }
            }
            return best;
        }
    }

    /// <summary>Encodes one .xz stream; returns its length, or 0 when it does not fit in <paramref name="limit"/> bytes.</summary>
    private static int Encode(LzmaFilter* chain, byte* source, int sourceLength, byte* destination, int limit)
    {
        nuint written = 0;
        var result = LzmaNative.lzma_stream_buffer_encode(chain, LzmaNative.CheckCrc32, null,
            source, (nuint)sourceLength, destination, &written, (nuint)limit);
        return result switch
        {
            LzmaResult.Ok => (int)written,
            LzmaResult.BufferError => 0,
            LzmaResult.MemoryError => throw new OutOfMemoryException("xz: liblzma could not allocate its encoder"),
            _ => throw new SquashFsException($"xz: compression failed ({result})"),
        };
    }
}

/// <summary>Decodes one .xz stream per block; any integrity check type is accepted.</summary>
internal sealed unsafe class XzDecompressor() : LzmaStreamDecompressor("xz")
{
    protected override LzmaResult InitializeDecoder(LzmaStream* stream) =>
        LzmaNative.lzma_stream_decoder(stream, MemoryLimit, flags: 0);
}
