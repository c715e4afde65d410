namespace Xar.SquashFs.Compression;

/// <summary>
/// Decodes one liblzma stream per block on an lzma_stream kept for the instance's lifetime, which
/// re-initialising the decoder reuses. .xz and legacy .lzma share this loop because liblzma has a
/// single-call decoder only for .xz (lzma_stream_buffer_decode; measured no faster than this).
/// </summary>
internal abstract unsafe class LzmaStreamDecompressor : BlockDecompressor
{
    /// <summary>
    /// SquashFS dictionaries are at most the 1 MiB maximum block size; the limit keeps a corrupt
    /// header from making liblzma allocate gigabytes.
    /// </summary>
    protected const ulong MemoryLimit = 64 << 20;

    private readonly LzmaStreamHandle _stream;
    private readonly string _codec;

    protected LzmaStreamDecompressor(string codec)
    {
        NativeCodecLibrary.Lzma.EnsureLoaded(codec);
        _codec = codec;
        _stream = new LzmaStreamHandle();
    }

    protected abstract LzmaResult InitializeDecoder(LzmaStream* stream);

    public override int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        LzmaStream* stream = _stream.Stream;
        var result = InitializeDecoder(stream);
        if (result != LzmaResult.Ok) throw Failure(result);

        byte probe;
        bool probing = false;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            stream->NextIn = src;
            stream->AvailIn = (nuint)source.Length;
            stream->NextOut = dst;
            stream->AvailOut = (nuint)destination.Length;
            do
            {
                if (stream->AvailOut == 0)
                {
                    // Destination full but the stream has not ended: one more byte of room tells a
                    // block that expands beyond it from one that only has its trailer left.
                    if (probing) throw ExpandsBeyond(destination.Length);
                    stream->NextOut = &probe;
                    stream->AvailOut = 1;
                    probing = true;
                }
                result = LzmaNative.lzma_code(stream, LzmaNative.ActionFinish);
            }
            while (result == LzmaResult.Ok);
        }

        if (probing && stream->AvailOut == 0) throw ExpandsBeyond(destination.Length);
        if (result != LzmaResult.StreamEnd) throw Failure(result);
        if (stream->AvailIn != 0)
            throw new SquashFsException($"{_codec}: corrupt block ({stream->AvailIn} bytes after the end of the stream)");
        return (int)stream->TotalOut;
    }

    private SquashFsException ExpandsBeyond(int destinationLength) =>
        new($"{_codec}: block expands beyond {destinationLength} bytes");

    private Exception Failure(LzmaResult result) => result switch
    {
        // There was always room for output, so "no progress possible" means the input ran out.
        LzmaResult.BufferError => new SquashFsException($"{_codec}: corrupt block (truncated)"),
        LzmaResult.MemoryError => new OutOfMemoryException($"{_codec}: liblzma could not allocate its decoder"),
        LzmaResult.MemoryLimitError => new SquashFsException($"{_codec}: corrupt block (its dictionary needs more than {MemoryLimit >> 20} MiB)"),
        LzmaResult.FormatError => new SquashFsException($"{_codec}: corrupt block (not in {_codec} format)"),
        _ => new SquashFsException($"{_codec}: corrupt block ({result})"),
    };

    public override void Dispose()
    {
        _stream.Dispose();
        base.Dispose();
    }
}
