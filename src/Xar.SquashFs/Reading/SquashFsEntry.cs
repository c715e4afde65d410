using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

/// <summary>What kind of file system object an entry is (the basic inode type).</summary>
public enum SquashFsEntryType
{
    Directory = 1,
    RegularFile = 2,
    Symlink = 3,
    BlockDevice = 4,
    CharacterDevice = 5,
    Fifo = 6,
    Socket = 7,
}

/// <summary>
/// One inode as reached through a directory entry: its name and path plus everything the inode
/// records. Immutable; obtained from a <see cref="SquashFsImage"/> and only usable with it.
/// </summary>
public sealed class SquashFsEntry
{
    internal SquashFsEntry(object owner) => Owner = owner;

    /// <summary>The image state this entry belongs to (entries of one image are rejected by another).</summary>
    internal object Owner { get; }

    /// <summary>The name decoded as UTF-8 (invalid sequences become U+FFFD); empty for the root.</summary>
    public string Name { get; internal init; } = "";

    /// <summary>The name exactly as stored (no terminator).</summary>
    public ReadOnlyMemory<byte> NameBytes { get; internal init; }

    /// <summary>
    /// "/" for the root, "/dir/name" below it. Empty for an entry obtained by inode number
    /// (<see cref="SquashFsImage.LookupInode"/>), which does not reveal a path, and for its descendants.
    /// </summary>
    public string Path { get; internal init; } = "";

    public SquashFsEntryType Type { get; internal init; }

    /// <summary>The on-disk inode type: the basic type, or basic + 7 for the extended form.</summary>
    public InodeType InodeType { get; internal init; }

    /// <summary>Permission bits including set-user-id, set-group-id and sticky (mode &amp; 07777).</summary>
    public UnixFileMode Permissions { get; internal init; }

    public uint Uid { get; internal init; }
    public uint Gid { get; internal init; }

    /// <summary>Modification time in seconds since the Unix epoch (unsigned 32-bit on disk).</summary>
    public uint ModificationTimeSeconds { get; internal init; }

    public DateTimeOffset ModificationTime => DateTimeOffset.FromUnixTimeSeconds(ModificationTimeSeconds);

    /// <summary>1..inode count, unique per inode; hard-linked names share it.</summary>
    public uint InodeNumber { get; internal init; }

    /// <summary>The inode's metadata reference (block position in the inode table &lt;&lt; 16 | offset).</summary>
    public ulong InodeReference { get; internal init; }

    /// <summary>Link count: 2 + subdirectories for a directory, the number of names for other inodes.</summary>
    public uint LinkCount { get; internal init; }

    /// <summary>
    /// Regular file: its length. Directory: the inode's file_size (listing bytes + 3, what stat
    /// reports). Symlink: the target length. Others: 0.
    /// </summary>
    public long Size { get; internal init; }

    /// <summary>The symlink target decoded as UTF-8; null for other types.</summary>
    public string? SymlinkTarget { get; internal init; }

    /// <summary>The symlink target exactly as stored; empty for other types.</summary>
    public ReadOnlyMemory<byte> SymlinkTargetBytes { get; internal init; }

    public uint DeviceMajor { get; internal init; }
    public uint DeviceMinor { get; internal init; }

    /// <summary>Index into the xattr id table, or null when the inode has no extended attributes.</summary>
    public uint? XattrIndex { get; internal init; }

    /// <summary>Directory: the inode number of its parent (inode count + 1 for the root); 0 otherwise.</summary>
    public uint ParentInodeNumber { get; internal init; }

    public bool IsDirectory => Type == SquashFsEntryType.Directory;
    public bool IsRegularFile => Type == SquashFsEntryType.RegularFile;
    public bool IsSymlink => Type == SquashFsEntryType.Symlink;

    // Regular files: where the data is.
    internal long BlocksStart { get; init; }
    internal int BlockCount { get; init; }
    internal uint FragmentIndex { get; init; } = SquashFsConstants.NoFragment;
    internal int FragmentOffset { get; init; }
    internal long BlockListPosition { get; init; }
    internal int BlockListOffset { get; init; }

    internal bool HasFragment => FragmentIndex != SquashFsConstants.NoFragment;

    // Directories: where the listing is, and its optional index (extended directories).
    internal long ListingPosition { get; init; }
    internal int ListingOffset { get; init; }
    internal long ListingSize { get; init; }
    internal int DirectoryIndexCount { get; init; }
    internal long DirectoryIndexPosition { get; init; }
    internal int DirectoryIndexOffset { get; init; }

    public override string ToString() => $"{Type} {Path} (inode {InodeNumber})";
}
