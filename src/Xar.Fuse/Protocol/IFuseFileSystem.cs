namespace Xar.Fuse.Protocol;

/// <summary>The attributes of one node, as LOOKUP, GETATTR and READDIRPLUS report them.</summary>
/// <param name="Ino">st_ino.</param>
/// <param name="Mode">st_mode: file type and permission bits.</param>
/// <param name="DeviceNumber">st_rdev in the kernel's new encoding (devices only).</param>
public readonly record struct FuseNodeAttributes(ulong Ino, ulong Size, uint Mode, uint LinkCount, uint Uid, uint Gid,
    long ModificationTime, uint DeviceNumber);

/// <summary>What STATFS reports.</summary>
public readonly record struct FuseFileSystemStatistics(ulong Blocks, ulong Files, uint BlockSize, uint NameLength);

/// <summary>
/// A read-only file system as the protocol layer (<see cref="FuseSession"/>) serves it: nodes are
/// identified by 64-bit ids (<see cref="FuseRootId"/> is the root), results are 0 or a positive
/// errno. Every method may be called from several threads at once.
/// </summary>
public interface IFuseFileSystem
{
    /// <summary>The root's node id; the kernel always names it 1.</summary>
    public const ulong FuseRootId = 1;

    /// <summary>How long the kernel may cache names, attributes and misses (the content never changes).</summary>
    TimeSpan CacheTimeout { get; }

    /// <summary>Whether any node has extended attributes; when not, the kernel is told once to stop asking.</summary>
    bool HasXattrs { get; }

    /// <summary>
    /// The child <paramref name="name"/> of <paramref name="parent"/>. Success adds one to the
    /// node's lookup count (undone by <see cref="Forget"/>); ENOENT is cached by the kernel as a miss.
    /// </summary>
    int Lookup(ulong parent, ReadOnlySpan<byte> name, out ulong node, out FuseNodeAttributes attributes);

    int GetAttributes(ulong node, out FuseNodeAttributes attributes);

    /// <summary>
    /// Adds the entries of directory <paramref name="node"/> from position <paramref name="offset"/>
    /// (0 at the start, else a nextOffset given to <see cref="DirectoryFiller.Add"/>) until the filler
    /// is full. With <see cref="DirectoryFiller.IsPlus"/>, each added entry with a node id counts as a lookup.
    /// </summary>
    int ReadDirectory(ulong node, long offset, ref DirectoryFiller filler);

    /// <summary>Reads file <paramref name="node"/> at <paramref name="offset"/>; <paramref name="count"/> &lt; the span only at end of file.</summary>
    int Read(ulong node, long offset, Span<byte> destination, out int count);

    int ReadLink(ulong node, out ReadOnlyMemory<byte> target);

    int GetStatistics(out FuseFileSystemStatistics statistics);

    /// <summary>The value of attribute <paramref name="name"/> (ENODATA when absent).</summary>
    int GetXattr(ulong node, ReadOnlySpan<byte> name, out ReadOnlyMemory<byte> value);

    /// <summary>Every attribute name of <paramref name="node"/>, each followed by a NUL.</summary>
    int ListXattrs(ulong node, out ReadOnlyMemory<byte> names);

    /// <summary>The kernel dropped <paramref name="count"/> lookups of <paramref name="node"/>.</summary>
    void Forget(ulong node, ulong count);
}
