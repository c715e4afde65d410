using System.Collections.Concurrent;
using System.Text;
using System.Text.Unicode;
using Xar.Fuse.Protocol;
using Xar.SquashFs.Format;
using Xar.Interop;
using Xar.SquashFs.Reading;

namespace Xar.Fuse;

/// <summary>
/// A SquashFS image as a read-only FUSE file system. Node ids are derived from inode references
/// (the root's is 1, every other reference + 2), so hard links share one node id and a node can
/// always be decoded again from its id: the node table only saves decoding the inodes the kernel
/// holds (it is bounded by the kernel's inode cache, through FORGET). Errors of a malformed image
/// reach the protocol layer as exceptions, which answers EIO; a listing names a child whose inode
/// is malformed all the same (that child's LOOKUP is the EIO). Reading the start of an ELF file
/// queues its other blocks for decompression ahead of the READs (<see cref="BlockPrefetch"/>),
/// and with a <see cref="FuseStoreNotifier"/> all its blocks for the kernel's page cache.
/// </summary>
public sealed class SquashFsFileSystem : IFuseFileSystem, IDisposable
{
    /// <summary>The image never changes while mounted: names, attributes and misses may be cached for a day.</summary>
    public static readonly TimeSpan DefaultCacheTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// ELF files up to this size are prefetched whole once their first bytes are read: their
    /// blocks are decompressed whether the program faults in all of them or not, so a library of
    /// hundreds of MB (llvmlite's) is left to the READs. Half the server's default data cache.
    /// </summary>
    public const long PrefetchedElfBytes = 8 << 20;

    private const ulong ReferenceBias = 2;

    private readonly SquashFsImage _image;
    private readonly BlockPrefetch? _prefetch;
    private readonly ConcurrentDictionary<ulong, Node> _nodes = new();
    private readonly Lock _counting = new();
    private readonly int _missLimit;
    private readonly List<string> _misses = [];
    private readonly HashSet<string> _missSet = new(StringComparer.Ordinal);

    /// <param name="prefetchWorkers">Threads decompressing blocks ahead of the READs; 0: none.</param>
    /// <param name="notifier">
    /// The connection's store notifications: the prefetch then pushes the ELF files it prefetches
    /// into the kernel's page cache (needs prefetch workers); null: READs bring every page.
    /// </param>
    /// <param name="missLimit">How many names looked up and not found <see cref="MissedNames"/> keeps; 0: none.</param>
    public SquashFsFileSystem(SquashFsImage image, TimeSpan? cacheTimeout = null, int prefetchWorkers = 0, FuseStoreNotifier? notifier = null,
        int missLimit = 0)
    {
        _image = image;
        _missLimit = missLimit;
        _prefetch = prefetchWorkers > 0 ? new BlockPrefetch(image, prefetchWorkers, notifier) : null;
        CacheTimeout = cacheTimeout ?? DefaultCacheTimeout;
        HasXattrs = image.XattrIdCount > 0;
        // The root is never forgotten.
        _nodes[IFuseFileSystem.FuseRootId] = new Node(image.Root) { Lookups = long.MaxValue / 2 };
    }

    public TimeSpan CacheTimeout { get; }

    public bool HasXattrs { get; }

    public int Lookup(ulong parent, ReadOnlySpan<byte> name, out ulong node, out FuseNodeAttributes attributes)
    {
        node = 0;
        attributes = default;
        SquashFsEntry directory = Entry(parent);
        if (!directory.IsDirectory)
            return LibC.ENOTDIR;
        SquashFsEntry? child = _image.Lookup(directory, name);
        if (child is null)
        {
            if (_missLimit > 0)
                NoteMiss(directory, name);
            return LibC.ENOENT;
        }
        node = Remember(child);
        attributes = Attributes(child);
        return 0;
    }

    public int GetAttributes(ulong node, out FuseNodeAttributes attributes)
    {
        attributes = Attributes(Entry(node));
        return 0;
    }

    public int ReadDirectory(ulong node, long offset, ref DirectoryFiller filler)
    {
        Node? cached = _nodes.GetValueOrDefault(node);
        SquashFsEntry directory = cached?.Entry ?? Decode(node);
        if (!directory.IsDirectory)
            return LibC.ENOTDIR;
        // The request after the last entry (every pass ends with one, answered empty) needs no listing.
        if (offset > 0 && cached?.Listing is null && cached?.ChildCount is { } known && offset >= known + 2)
            return 0;
        // One listing per pass over the directory: the kernel asks for it a page at a time.
        SquashFsListedEntry[] children = offset == 0 || cached?.Listing is null
            ? List(directory)
            : cached.Listing;
        if (cached is not null)
        {
            cached.Listing = children;
            cached.ChildCount = children.Length;
        }

        // Positions: 0 ".", 1 "..", 2.. the children; an entry's offset is the position after it.
        long position = offset;
        if (position == 0 && !filler.Add("."u8, 0, Attributes(directory), 1))
            return 0;
        if (position <= 1)
        {
            var parent = new FuseNodeAttributes(directory.ParentInodeNumber, 0, (uint)UnixFileMode.None | DirectoryType, 0, 0, 0, 0, 0);
            if (!filler.Add(".."u8, 0, parent, 2))
                return 0;
            position = 2;
        }
        for (long index = position - 2; index < children.Length; index++)
        {
            SquashFsListedEntry listed = children[index];
            if (listed.Entry is not { } child)
            {
                // A child whose inode is malformed is listed as the kernel's squashfs lists it (name,
                // inode number, type) and looked up by nobody here: its LOOKUP fails with EIO.
                var named = new FuseNodeAttributes(listed.InodeNumber, 0, TypeBits(listed.Type), 0, 0, 0, 0, 0);
                if (!filler.Add(listed.NameBytes.Span, 0, named, index + 3))
                    return 0;
                continue;
            }
            ulong childNode = filler.IsPlus ? NodeId(child.InodeReference) : 0;
            if (!filler.Add(child.NameBytes.Span, childNode, Attributes(child), index + 3))
                return 0;
            if (filler.IsPlus)
                Remember(child);
        }
        if (cached is not null)
            cached.Listing = null;
        return 0;
    }

    public int Read(ulong node, long offset, Span<byte> destination, out int count)
    {
        count = 0;
        SquashFsEntry file = Entry(node);
        if (!file.IsRegularFile)
            return file.IsDirectory ? LibC.EISDIR : LibC.EINVAL;
        if (offset >= file.Size)
            return 0;
        int wanted = (int)Math.Min(destination.Length, file.Size - offset);
        int done = 0;
        while (done < wanted)
        {
            int n = _image.ReadFile(file, offset + done, destination[done..wanted]);
            if (n <= 0)
                break;
            done += n;
        }
        count = done;
        // Stored, the whole file: the kernel holds the inode now (it is reading it), and the
        // dynamic loader's faults all over the file then find their pages. Block 0 was just
        // decompressed for this READ, so that costs no decompression.
        if (offset == 0 && _prefetch is not null && ElfMagic.Starts(destination[..done]) && file.Size <= PrefetchedElfBytes)
            _prefetch.Queue(file, _prefetch.Stores ? 0 : ((long)done - 1) / _image.BlockSize + 1, node);
        return 0;
    }

    /// <summary>
    /// Queues the blocks holding <paramref name="file"/>'s first <paramref name="length"/> bytes
    /// (the fragment tail included) for the prefetch, when those are at most
    /// <see cref="PrefetchedElfBytes"/>: what every start reads (the daemon's start set,
    /// <see cref="FuseServerOptions.StartFiles"/>).
    /// </summary>
    public void Prefetch(SquashFsEntry file, long length)
    {
        if (_prefetch is not null && file.IsRegularFile && length > 0 && Math.Min(length, file.Size) <= PrefetchedElfBytes)
            _prefetch.Queue(file, 0, length: length);
    }

    /// <summary>Blocks decompressed ahead of the READs (for tests).</summary>
    internal int PrefetchedBlocks => _prefetch?.Loaded ?? 0;

    /// <summary>Starts the prefetch workers now, from a thread off the request path, rather than on the first READ that queues blocks.</summary>
    public void StartPrefetch() => _prefetch?.Start();

    /// <summary>Stops the prefetch workers (before the image is disposed).</summary>
    public void Dispose() => _prefetch?.Dispose();

    public int ReadLink(ulong node, out ReadOnlyMemory<byte> target)
    {
        SquashFsEntry entry = Entry(node);
        target = entry.SymlinkTargetBytes;
        return entry.IsSymlink ? 0 : LibC.EINVAL;
    }

    public int GetStatistics(out FuseFileSystemStatistics statistics)
    {
        // Block size and inode count as squashfuse reports them: the launcher's probe compares both with the image.
        Superblock superblock = _image.Superblock;
        statistics = new FuseFileSystemStatistics(
            (superblock.BytesUsed + (ulong)_image.BlockSize - 1) / (ulong)_image.BlockSize,
            superblock.InodeCount, (uint)_image.BlockSize, SquashFsConstants.MaxNameLength);
        return 0;
    }

    public int GetXattr(ulong node, ReadOnlySpan<byte> name, out ReadOnlyMemory<byte> value)
    {
        foreach (SquashFsXattr xattr in _image.GetXattrs(Entry(node)))
        {
            if (xattr.NameBytes.Span.SequenceEqual(name))
            {
                value = xattr.Value;
                return 0;
            }
        }
        value = default;
        return LibC.ENODATA;
    }

    public int ListXattrs(ulong node, out ReadOnlyMemory<byte> names)
    {
        IReadOnlyList<SquashFsXattr> xattrs = _image.GetXattrs(Entry(node));
        var list = new byte[xattrs.Sum(x => x.NameBytes.Length + 1)];
        int position = 0;
        foreach (SquashFsXattr xattr in xattrs)
        {
            xattr.NameBytes.Span.CopyTo(list.AsSpan(position));
            position += xattr.NameBytes.Length + 1;
        }
        names = list;
        return 0;
    }

    public void Forget(ulong node, ulong count)
    {
        lock (_counting)
        {
            if (_nodes.TryGetValue(node, out Node? known) && (known.Lookups -= (long)Math.Min(count, long.MaxValue)) <= 0)
                _nodes.TryRemove(node, out _);
        }
    }

    /// <summary>
    /// The names the kernel looked up that the image does not have, as paths relative to the root
    /// ("dir/name"), in the order first asked, at most the constructor's limit: what the next mount's
    /// read-ahead looks up before the application does, so that the kernel has cached the misses
    /// (the negative entries) by the time the application asks. Only names whose directory was
    /// reached by a path (looked up or listed), and only UTF-8 ones without a newline.
    /// </summary>
    public IReadOnlyList<string> MissedNames
    {
        get
        {
            lock (_misses)
                return [.. _misses];
        }
    }

    private void NoteMiss(SquashFsEntry directory, ReadOnlySpan<byte> name)
    {
        // Not a directory decoded by inode reference only (no path to name it by), nor a name or
        // directory that is not UTF-8 (its decoded path names something else), nor a line break.
        if (directory.Path.Length == 0 || !Utf8.IsValid(name))
            return;
        string path = (directory.Path == "/" ? "" : directory.Path[1..] + "/") + Encoding.UTF8.GetString(name);
        if (path.Contains('\uFFFD', StringComparison.Ordinal) || path.Contains('\n', StringComparison.Ordinal))
            return;
        lock (_misses)
        {
            if (_misses.Count < _missLimit && _missSet.Add(path))
                _misses.Add(path);
        }
    }

    /// <summary>How many nodes the kernel holds (for tests: FORGET must shrink the table).</summary>
    internal int NodeCount => _nodes.Count;

    /// <summary>How many times a directory was listed from the image (for tests: once per pass).</summary>
    internal int Listings => Volatile.Read(ref _listings);

    private int _listings;

    private SquashFsListedEntry[] List(SquashFsEntry directory)
    {
        Interlocked.Increment(ref _listings);
        return [.. _image.ListDirectoryRecords(directory)];
    }

    private const uint DirectoryType = 0x4000;

    /// <summary>The S_IFMT bits of a type.</summary>
    private static uint TypeBits(SquashFsEntryType type) => type switch
    {
        SquashFsEntryType.Directory => DirectoryType,
        SquashFsEntryType.RegularFile => 0x8000,
        SquashFsEntryType.Symlink => 0xA000,
        SquashFsEntryType.BlockDevice => 0x6000,
        SquashFsEntryType.CharacterDevice => 0x2000,
        SquashFsEntryType.Fifo => 0x1000,
        _ => 0xC000,
    };

    private static FuseNodeAttributes Attributes(SquashFsEntry entry)
    {
        uint type = TypeBits(entry.Type);
        // st_size of a directory as the kernel's squashfs driver reports it; of a symlink, its target's length.
        ulong size = entry.IsSymlink ? (ulong)entry.SymlinkTargetBytes.Length : (ulong)entry.Size;
        uint minor = entry.DeviceMinor;
        uint device = (minor & 0xFF) | (entry.DeviceMajor << 8) | ((minor & ~0xFFu) << 12);
        return new FuseNodeAttributes(entry.InodeNumber, size, type | (uint)entry.Permissions, entry.LinkCount,
            entry.Uid, entry.Gid, entry.ModificationTimeSeconds, device);
    }

    private static ulong NodeId(ulong reference) => reference + ReferenceBias;

    private SquashFsEntry Entry(ulong node) => _nodes.TryGetValue(node, out Node? known) ? known.Entry : Decode(node);

    private SquashFsEntry Decode(ulong node) =>
        node == IFuseFileSystem.FuseRootId ? _image.Root : _image.ReadInode(node - ReferenceBias);

    /// <summary>Counts one lookup of <paramref name="entry"/> by the kernel; returns its node id.</summary>
    private ulong Remember(SquashFsEntry entry)
    {
        if (entry.InodeReference == _image.Root.InodeReference)
            return IFuseFileSystem.FuseRootId;
        ulong node = NodeId(entry.InodeReference);
        lock (_counting)
        {
            if (_nodes.TryGetValue(node, out Node? known))
                known.Lookups++;
            else
                _nodes[node] = new Node(entry) { Lookups = 1 };
        }
        return node;
    }

    private sealed class Node(SquashFsEntry entry)
    {
        public SquashFsEntry Entry { get; } = entry;

        /// <summary>Guarded by <see cref="_counting"/>.</summary>
        public long Lookups { get; set; }

        /// <summary>The directory's children during a pass of READDIR requests.</summary>
        public SquashFsListedEntry[]? Listing { get; set; }

        /// <summary>How many children the directory has, once listed: the pass's last request is answered without a listing.</summary>
        public int? ChildCount { get; set; }
    }
}
