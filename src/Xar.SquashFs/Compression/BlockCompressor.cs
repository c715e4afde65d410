namespace Xar.SquashFs.Compression;

/// <summary>
/// Compresses independent blocks with one codec. Not thread-safe: each worker thread owns one,
/// so codec state (a zstd context, a zlib stream) is reused across blocks.
/// </summary>
public abstract class BlockCompressor : IDisposable
{
    /// <summary>
    /// Compresses <paramref name="source"/> into <paramref name="destination"/> and returns the
    /// compressed length, or 0 when the result would not be smaller than the source (the caller
    /// then stores the block uncompressed). <paramref name="destination"/> must be at least as long
    /// as <paramref name="source"/>.
    /// </summary>
    public abstract int Compress(ReadOnlySpan<byte> source, Span<byte> destination);

    /// <summary>
    /// What makes this compressor's output what it is besides the input (codec, library version,
    /// level), for keeping blocks between builds (<see cref="Writing.ICompressedBlockCache"/>);
    /// null: its blocks are not kept.
    /// </summary>
    public virtual string? CacheIdentity => null;

    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>
    /// How many output bytes a codec may use: one byte short of the source, because a result that
    /// does not fit is no smaller and the block is stored raw. Codecs report "does not fit" cheaply
    /// (a return code), so compressing against this limit doubles as the "is it smaller" test.
    /// </summary>
    protected static int OutputLimit(ReadOnlySpan<byte> source, Span<byte> destination) =>
        Math.Min(destination.Length, source.Length - 1);
}

/// <summary>Decompresses independent blocks with one codec. Not thread-safe: one per thread.</summary>
public abstract class BlockDecompressor : IDisposable
{
    /// <summary>
    /// Decompresses <paramref name="source"/> into <paramref name="destination"/> and returns the
    /// number of bytes produced. Throws <see cref="SquashFsException"/> when the block is corrupt or
    /// expands beyond <paramref name="destination"/>; the message names the codec, and the caller
    /// adds where the block was.
    /// </summary>
    public abstract int Decompress(ReadOnlySpan<byte> source, Span<byte> destination);

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
