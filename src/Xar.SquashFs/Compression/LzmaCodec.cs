namespace Xar.SquashFs.Compression;

/// <summary>
/// Legacy SquashFS "lzma" blocks (compressor id 2): the ".lzma alone" format, a 13-byte header
/// (properties, dictionary size, uncompressed size) and raw LZMA1. Read-only: the kernel never
/// supported these images, so nothing should write them.
/// </summary>
internal sealed unsafe class LzmaAloneDecompressor() : LzmaStreamDecompressor("lzma")
{
    protected override LzmaResult InitializeDecoder(LzmaStream* stream) =>
        LzmaNative.lzma_alone_decoder(stream, MemoryLimit);
}
