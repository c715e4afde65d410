using System.Numerics;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Writing;

public sealed record SquashFsWriterOptions
{
    public CompressionSettings Compression { get; init; } = CompressionSettings.For(CompressionAlgorithm.Zstd);

    /// <summary>Power of two between 4 KiB and 1 MiB.</summary>
    public int BlockSize { get; init; } = SquashFsConstants.DefaultBlockSize;

    /// <summary>Compression threads; 0 means one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Pack small files and the tails of larger files into shared fragment blocks.</summary>
    public bool UseFragments { get; init; } = true;

    /// <summary>Store files with identical content once (hashing the content before compressing).</summary>
    public bool Deduplicate { get; init; } = true;

    /// <summary>Keep the owners the entries carry; otherwise everything is owned by 0:0.</summary>
    public bool KeepOwners { get; init; }

    /// <summary>Store the entries' extended attributes.</summary>
    public bool Xattrs { get; init; }

    /// <summary>Write the export table (inode number → inode), which readers use to find inodes by number.</summary>
    public bool Exportable { get; init; } = true;

    /// <summary>
    /// When set, every inode and the image itself get this time, making the image independent of
    /// the source's timestamps. When null, SOURCE_DATE_EPOCH (if set) clamps inode times and is
    /// the image time; otherwise the image time is the newest inode time, so that two builds of
    /// the same tree are byte-identical either way.
    /// </summary>
    public long? FixedTime { get; init; }

    /// <summary>Called for entries the image cannot represent and skips (xattrs outside user/trusted/security).</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>Advanced as file data is packed and written (phase "writing image"); read by a display on its own timer.</summary>
    public OperationProgress? Progress { get; init; }

    /// <summary>Blocks compressed by earlier writes (<see cref="ICompressedBlockCache"/>); null: every block is compressed.</summary>
    public ICompressedBlockCache? BlockCache { get; init; }

    internal int ResolvedThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

    internal void Validate()
    {
        if (BlockSize < SquashFsConstants.MinBlockSize || BlockSize > SquashFsConstants.MaxBlockSize || !BitOperations.IsPow2(BlockSize))
            throw new SquashFsException($"block size {BlockSize} is not a power of two between 4 KiB and 1 MiB");
        if (Threads < 0)
            throw new SquashFsException($"thread count {Threads} is negative");
        if (Compression.Algorithm is CompressionAlgorithm.Lzma or CompressionAlgorithm.Lzo)
            throw new SquashFsException($"{CompressionSettings.Name(Compression.Algorithm)} images can be read but not written (the Linux kernel cannot read lzma; use xz)");
    }
}
