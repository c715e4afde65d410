namespace Xar.SquashFs.Writing;

/// <summary>
/// Blocks compressed by earlier writes, kept by the caller between builds (the Python build's
/// cache, docs/python-apps.md §5): the same bytes compressed by the same codec library at the same
/// level give the same block again, so a build that writes what an earlier one wrote need not
/// compress it again (zstd 19 on a Python archive's bytecode bundle is most of a warm build's CPU).
/// The writer keys each block by its codec's identity and its bytes (<see cref="Compression.BlockCompressor.CacheIdentity"/>)
/// and takes a kept block only when it decodes to those bytes, so a store cut short or changed
/// on disk costs a compression, never a wrong image. Thread-safe: compressor threads call it.
/// </summary>
public interface ICompressedBlockCache
{
    /// <summary>The compressed block kept under <paramref name="key"/>, or null.</summary>
    ReadOnlyMemory<byte>? Find(UInt128 key);

    /// <summary>Keeps <paramref name="compressed"/> under <paramref name="key"/> (in place of a block <see cref="Find"/> gave that was not the block).</summary>
    void Add(UInt128 key, ReadOnlySpan<byte> compressed);
}
