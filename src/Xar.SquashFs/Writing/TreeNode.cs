using Xar.SquashFs.Format;

namespace Xar.SquashFs.Writing;

/// <summary>One path in the image being built. A hard link's second name is its own node whose
/// <see cref="HardLinkPrimary"/> carries the inode.</summary>
internal sealed class TreeNode(byte[] name, InodeType type)
{
    public byte[] Name { get; } = name;
    public InodeType Type { get; set; } = type;
    public TreeNode? Parent { get; set; }
    public List<TreeNode>? Children { get; set; }
    public Dictionary<string, TreeNode>? ChildrenByName { get; set; }

    public ushort Permissions { get; set; }
    public uint Uid { get; set; }
    public uint Gid { get; set; }
    public long ModificationTime { get; set; }
    /// <summary>False for a directory created only because a deeper path needed it.</summary>
    public bool Explicit { get; set; }

    public FileContent? Content { get; set; }
    /// <summary><see cref="ImageEntry.CompressionLevel"/>.</summary>
    public int? CompressionLevel { get; set; }
    public FileData? Data { get; set; }
    public byte[]? SymlinkTarget { get; set; }
    public uint Rdev { get; set; }
    public IReadOnlyList<KeyValuePair<string, byte[]>>? Xattrs { get; set; }

    public TreeNode? HardLinkPrimary { get; set; }
    /// <summary>Names sharing this inode (on the primary).</summary>
    public uint LinkCount { get; set; } = 1;

    // Filled while writing the tables.
    public uint InodeNumber { get; set; }
    public ulong InodeReference { get; set; }
    public bool InodeWritten { get; set; }
    public uint XattrIndex { get; set; } = SquashFsConstants.NoXattr;
    public DirectoryListing? Listing { get; set; }

    public bool IsDirectory => Type == InodeType.Directory;
    public TreeNode Inode => HardLinkPrimary ?? this;
}

/// <summary>Where a regular file's bytes ended up; shared by files with identical content.</summary>
internal sealed class FileData(long size, int blockCount)
{
    public long Size { get; } = size;
    public long StartBlock { get; set; }
    public uint[] BlockWords { get; } = blockCount == 0 ? [] : new uint[blockCount];
    public uint FragmentIndex { get; set; } = SquashFsConstants.NoFragment;
    public uint FragmentOffset { get; set; }
    public long SparseBytes { get; set; }

    public static readonly FileData Empty = new(0, 0);
}

/// <summary>Where a directory's listing was written in the directory table.</summary>
internal sealed class DirectoryListing
{
    public uint StartBlock { get; init; }
    public ushort Offset { get; init; }
    /// <summary>Listing length + 3 (the kernel counts "." and "..").</summary>
    public uint FileSize { get; init; }
    public required List<DirectoryIndexEntry> Index { get; init; }
}

internal readonly record struct DirectoryIndexEntry(uint ListingOffset, uint StartBlock, byte[] Name);
