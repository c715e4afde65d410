namespace Xar.SquashFs.Reading;

/// <summary>Cache sizes for a <see cref="SquashFsImage"/>; the defaults suit a FUSE server or an extraction.</summary>
public sealed record SquashFsImageOptions
{
    /// <summary>
    /// Decompressed metadata blocks (inodes, directories, lookup tables). The default holds the whole
    /// inode and directory tables of a 40k-file site-packages image (about 3 MB).
    /// </summary>
    public long MetadataCacheBytes { get; init; } = 8 << 20;

    /// <summary>Decompressed data blocks, for reads that cover only part of a block.</summary>
    public long DataCacheBytes { get; init; } = 16 << 20;

    /// <summary>Decompressed fragment blocks, shared by the many small files packed into each.</summary>
    public long FragmentCacheBytes { get; init; } = 16 << 20;

    /// <summary>Per-file block-offset indexes (in block-size words), so reading block i does not rescan the list.</summary>
    public long BlockIndexCacheWords { get; init; } = 1 << 20;
}
