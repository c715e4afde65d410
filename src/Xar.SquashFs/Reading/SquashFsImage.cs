using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

/// <summary>
/// A read-only SquashFS 4.0 image, possibly embedded at an offset inside a larger file.
/// Thread-safe: any number of threads may look up, list and read concurrently (positional reads,
/// per-thread decompressors, locked caches). Every value taken from the image is checked before
/// use; a malformed image raises <see cref="SquashFsException"/> naming what is wrong and where.
/// </summary>
/// <remarks>
/// Paths are resolved without following symlinks, in any component: a symlink is an entry of its
/// own, and a path that continues below it does not exist. "." components are ignored and ".."
/// goes to the parent lexically (the root's parent is the root), which matches the physical tree
/// because no symlink is ever traversed.
/// </remarks>
public sealed partial class SquashFsImage : IDisposable
{
    /// <summary>Deepest directory nesting accepted (a path that deep exceeds PATH_MAX anyway).</summary>
    public const int MaxDepth = 2048;

    private readonly ImageSource _source;
    private readonly DecompressorPool _decompressors;
    private readonly MetadataStore _metadata;
    private readonly BlockBuffers _buffers;
    private readonly BlockCache _dataCache;
    private readonly BlockCache _fragmentCache;
    private readonly LruCache<ulong, FileLayout> _layouts;
    private readonly LookupTable? _fragmentTable;
    private readonly LookupTable? _exportTable;
    private readonly LookupTable? _xattrIdTable;
    private readonly uint[] _ids;
    private readonly TableRegion _inodeRegion;
    private readonly TableRegion _directoryRegion;
    private readonly TableRegion _xattrRegion;
    private readonly long _dataStart;
    private readonly int _blockSize;
    private readonly int _blockLog;
    /// <summary>Identity stamped on entries so that an entry of another image is rejected.</summary>
    private readonly object _identity = new();
    private volatile bool _disposed;

    public Superblock Superblock { get; }
    public CompressionSettings CompressionSettings { get; }
    public SquashFsEntry Root { get; }

    /// <summary>Where the image starts inside its file.</summary>
    public long ImageOffset { get; }

    public int BlockSize => _blockSize;

    /// <summary>Block-sized buffers with their pages in place, for whoever reads blocks of this image.</summary>
    internal BlockBuffers Buffers => _buffers;
    public uint InodeCount => Superblock.InodeCount;
    public uint FragmentCount => Superblock.FragmentCount;
    public int IdCount => _ids.Length;
    public long XattrIdCount => _xattrIdTable?.Count ?? 0;
    public bool HasExportTable => _exportTable is not null;

    /// <summary>Opens the image file at <paramref name="path"/>; the image starts at <paramref name="offset"/>.</summary>
    public static SquashFsImage Open(string path, long offset = 0, SquashFsImageOptions? options = null)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Open(handle, offset, ownsHandle: true, options);
    }

    /// <summary>
    /// Opens an image read through <paramref name="handle"/>, starting at <paramref name="offset"/>.
    /// With <paramref name="ownsHandle"/> the handle is disposed with the image, or at once when
    /// opening fails.
    /// </summary>
    public static SquashFsImage Open(SafeFileHandle handle, long offset, bool ownsHandle, SquashFsImageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ImageSource? source = null;
        try
        {
            source = new ImageSource(handle, offset, ownsHandle);
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            if (source.Available < 0)
                throw new ArgumentOutOfRangeException(nameof(offset), offset, "the offset lies beyond the end of the file");
            return new SquashFsImage(source, offset, options ?? new SquashFsImageOptions());
        }
        catch
        {
            if (source is not null) source.Dispose();
            else if (ownsHandle) handle.Dispose();
            throw;
        }
    }

    private SquashFsImage(ImageSource source, long offset, SquashFsImageOptions options)
    {
        _source = source;
        ImageOffset = offset;

        Span<byte> raw = stackalloc byte[SquashFsConstants.SuperblockSize];
        int superblockBytes = (int)Math.Min(SquashFsConstants.SuperblockSize, source.Available);
        source.Read(0, raw[..superblockBytes], "superblock");
        var sb = Superblock.Read(raw[..superblockBytes], source.Available);
        Superblock = sb;
        source.End = (long)sb.BytesUsed;
        _blockSize = (int)sb.BlockSize;
        _blockLog = sb.BlockLog;
        if (sb.InodeCount == 0)
            throw new SquashFsException("superblock: inode_count is 0 (an image has at least its root directory)");

        (CompressionSettings, _dataStart) = ReadCompressorOptions(source, sb);
        if ((long)sb.InodeTableStart < _dataStart)
            throw new SquashFsException($"superblock: inode table start {sb.InodeTableStart} overlaps the compressor options (which end at byte {_dataStart})");

        _decompressors = new DecompressorPool(CompressionSettings);
        try
        {
            _metadata = new MetadataStore(source, _decompressors, options.MetadataCacheBytes);
            _buffers = new BlockBuffers(_blockSize);
            _dataCache = new BlockCache(options.DataCacheBytes, _buffers);
            _fragmentCache = new BlockCache(options.FragmentCacheBytes, _buffers);
            _layouts = new LruCache<ulong, FileLayout>(options.BlockIndexCacheWords);

            long directoryStart = (long)sb.DirectoryTableStart;
            long end = (long)sb.BytesUsed;
            _inodeRegion = new TableRegion("inode table", (long)sb.InodeTableStart, directoryStart);

            var idTable = LookupTable.Load(source, "id", (long)sb.IdTableStart, sb.IdCount, SquashFsConstants.IdEntrySize, directoryStart, end);
            long directoryEnd = idTable.FirstBlock;
            if (sb.FragmentCount > 0)
            {
                _fragmentTable = LookupTable.Load(source, "fragment", (long)sb.FragmentTableStart, sb.FragmentCount,
                    SquashFsConstants.FragmentEntrySize, directoryStart, end);
                directoryEnd = Math.Min(directoryEnd, _fragmentTable.FirstBlock);
            }
            if (sb.HasExportTable)
            {
                _exportTable = LookupTable.Load(source, "export", (long)sb.ExportTableStart, sb.InodeCount,
                    SquashFsConstants.ExportEntrySize, directoryStart, end);
                directoryEnd = Math.Min(directoryEnd, _exportTable.FirstBlock);
            }
            if (sb.HasXattrs)
            {
                (_xattrIdTable, _xattrRegion) = LoadXattrTables(source, sb, directoryStart, end);
                directoryEnd = Math.Min(directoryEnd, _xattrRegion.Start);
            }
            _directoryRegion = new TableRegion("directory table", directoryStart, directoryEnd);

            _ids = new uint[sb.IdCount];
            Span<byte> record = stackalloc byte[SquashFsConstants.IdEntrySize];
            for (int i = 0; i < _ids.Length; i++)
            {
                idTable.ReadRecord(_metadata, i, record);
                _ids[i] = BinaryPrimitives.ReadUInt32LittleEndian(record);
            }

            Root = DecodeInode(sb.RootInodeReference, [], "", "/", expectedType: SquashFsEntryType.Directory, expectedNumber: 0);
        }
        catch
        {
            _decompressors.Dispose();
            throw;
        }
    }

    private static (CompressionSettings, long DataStart) ReadCompressorOptions(ImageSource source, Superblock sb)
    {
        if (!sb.HasCompressorOptions)
            return (CompressionSettings.Decode(sb.CompressorId, []), SquashFsConstants.SuperblockSize);
        Span<byte> header = stackalloc byte[2];
        source.Read(SquashFsConstants.SuperblockSize, header, "compressor options");
        int length = BinaryPrimitives.ReadUInt16LittleEndian(header) & 0x7FFF;
        if ((BinaryPrimitives.ReadUInt16LittleEndian(header) & SquashFsConstants.MetadataUncompressed) == 0 || length is 0 or > 64)
            throw new SquashFsException($"compressor options at byte 96: header 0x{BinaryPrimitives.ReadUInt16LittleEndian(header):x4} is not an uncompressed block of 1..64 bytes");
        Span<byte> payload = stackalloc byte[length];
        source.Read(SquashFsConstants.SuperblockSize + 2, payload, "compressor options");
        return (CompressionSettings.Decode(sb.CompressorId, payload), SquashFsConstants.SuperblockSize + 2 + length);
    }

    private static (LookupTable, TableRegion) LoadXattrTables(ImageSource source, Superblock sb, long directoryStart, long end)
    {
        long headerPosition = (long)sb.XattrIdTableStart;
        if (headerPosition < directoryStart || headerPosition > end - 16)
            throw new SquashFsException($"xattr id table: header at byte {headerPosition} lies outside bytes {directoryStart}..{end}");
        Span<byte> header = stackalloc byte[16];
        source.Read(headerPosition, header, "xattr id table header");
        ulong kvStart = BinaryPrimitives.ReadUInt64LittleEndian(header);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (kvStart < (ulong)directoryStart || kvStart >= (ulong)headerPosition)
            throw new SquashFsException($"xattr id table: key/value area start {kvStart} lies outside bytes {directoryStart}..{headerPosition}");
        var table = LookupTable.Load(source, "xattr id", headerPosition + 16, count, SquashFsConstants.XattrIdEntrySize, (long)kvStart, end);
        // The key/value area ends where the xattr id blocks begin (or at the header when there are none).
        long kvEnd = count > 0 ? table.FirstBlock : headerPosition;
        return (table, new TableRegion("xattr key/value area", (long)kvStart, kvEnd));
    }

    /// <summary>
    /// The entry at <paramref name="path"/> ("/" or "" is the root), or null when no such entry
    /// exists or a component before the last is not a directory. Symlinks are never followed.
    /// </summary>
    public SquashFsEntry? Find(string path) => FindChain(path)?[^1];

    /// <summary>The entries from the root down to <paramref name="path"/>, or null when it does not exist.</summary>
    internal List<SquashFsEntry>? FindChain(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ThrowIfDisposed();
        var chain = new List<SquashFsEntry> { Root };
        foreach (var component in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (component == ".") continue;
            if (component == "..")
            {
                if (chain.Count > 1) chain.RemoveAt(chain.Count - 1);
                continue;
            }
            var current = chain[^1];
            if (!current.IsDirectory) return null;
            var child = Lookup(current, component);
            if (child is null) return null;
            chain.Add(child);
        }
        return chain;
    }

    /// <summary>Like <see cref="Find"/>, but a missing path raises <see cref="FileNotFoundException"/>.</summary>
    public SquashFsEntry GetEntry(string path) =>
        Find(path) ?? throw new FileNotFoundException($"'{path}' does not exist in the image (symlinks are not followed)", path);

    /// <summary>The child of <paramref name="directory"/> named <paramref name="name"/>, or null.</summary>
    public SquashFsEntry? Lookup(SquashFsEntry directory, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Lookup(directory, Encoding.UTF8.GetBytes(name));
    }

    /// <summary>
    /// The child of <paramref name="directory"/> whose raw name is <paramref name="name"/>, or null.
    /// Uses the directory index of large directories, so a lookup reads about one metadata block.
    /// </summary>
    public SquashFsEntry? Lookup(SquashFsEntry directory, ReadOnlySpan<byte> name)
    {
        CheckEntry(directory, SquashFsEntryType.Directory);
        if (name.IsEmpty || name.Length > SquashFsConstants.MaxNameLength) return null;
        return LookupChild(directory, name);
    }

    /// <summary>The entries of <paramref name="directory"/> in on-disk (byte-wise sorted) order.</summary>
    public IReadOnlyList<SquashFsEntry> ListDirectory(SquashFsEntry directory)
    {
        CheckEntry(directory, SquashFsEntryType.Directory);
        var entries = new List<SquashFsEntry>();
        ReadDirectory(directory, entries.Add);
        return entries;
    }

    /// <summary>
    /// Every entry below <paramref name="start"/> (default: the root), pre-order, each directory's
    /// entries in on-disk order; <paramref name="start"/> itself comes first. Throws
    /// <see cref="SquashFsException"/> when a directory is reachable twice (a cycle) or the tree is
    /// deeper than <see cref="MaxDepth"/>.
    /// </summary>
    public IEnumerable<SquashFsEntry> EnumerateTree(SquashFsEntry? start = null)
    {
        var first = start ?? Root;
        CheckEntry(first, null);
        return Walk(first);
    }

    private IEnumerable<SquashFsEntry> Walk(SquashFsEntry start)
    {
        yield return start;
        if (!start.IsDirectory) yield break;
        var visited = new HashSet<ulong> { start.InodeReference };
        var stack = new Stack<(IEnumerator<SquashFsEntry> Children, int Depth)>();
        stack.Push((ListDirectory(start).GetEnumerator(), 1));
        while (stack.Count > 0)
        {
            var (children, depth) = stack.Peek();
            if (!children.MoveNext())
            {
                stack.Pop();
                continue;
            }
            var child = children.Current;
            yield return child;
            if (!child.IsDirectory) continue;
            EnterDirectory(visited, child, depth);
            stack.Push((ListDirectory(child).GetEnumerator(), depth + 1));
        }
    }

    /// <summary>Records a directory about to be descended into; throws on a cycle or excessive depth.</summary>
    internal static void EnterDirectory(HashSet<ulong> visited, SquashFsEntry directory, int depth)
    {
        if (!visited.Add(directory.InodeReference))
            throw new SquashFsException(
                $"directory table: directory '{directory.Path}' (inode {directory.InodeNumber}, reference 0x{directory.InodeReference:x}) is reached a second time: the directory tree contains a cycle");
        if (depth >= MaxDepth)
            throw new SquashFsException($"directory table: '{directory.Path}' is nested deeper than {MaxDepth} levels");
    }

    /// <summary>The target of a symlink, decoded as UTF-8 (see <see cref="SquashFsEntry.SymlinkTargetBytes"/> for raw bytes).</summary>
    public string ReadLink(SquashFsEntry symlink)
    {
        CheckEntry(symlink, SquashFsEntryType.Symlink);
        return symlink.SymlinkTarget!;
    }

    /// <summary>
    /// The entry for inode <paramref name="inodeNumber"/> (1..<see cref="InodeCount"/>) through the
    /// export table. Its <see cref="SquashFsEntry.Name"/> and <see cref="SquashFsEntry.Path"/> are
    /// empty: an inode does not record where it is linked.
    /// </summary>
    /// <exception cref="NotSupportedException">The image has no export table (mksquashfs -no-exports).</exception>
    public SquashFsEntry LookupInode(uint inodeNumber)
    {
        ThrowIfDisposed();
        if (_exportTable is null)
            throw new NotSupportedException("the image has no export table (built with -no-exports), so inodes cannot be looked up by number");
        if (inodeNumber == 0 || inodeNumber > InodeCount)
            throw new ArgumentOutOfRangeException(nameof(inodeNumber), inodeNumber, $"inode numbers run from 1 to {InodeCount}");
        Span<byte> record = stackalloc byte[SquashFsConstants.ExportEntrySize];
        _exportTable.ReadRecord(_metadata, inodeNumber - 1, record);
        ulong reference = BinaryPrimitives.ReadUInt64LittleEndian(record);
        try
        {
            return DecodeInode(reference, [], "", "", expectedType: null, expectedNumber: inodeNumber);
        }
        catch (SquashFsException e)
        {
            throw new SquashFsException($"export table: entry for inode {inodeNumber}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The entry for the inode at <paramref name="inodeReference"/> (a <see cref="SquashFsEntry.InodeReference"/>
    /// kept from earlier, e.g. as a FUSE node id). Name and Path are empty, as for <see cref="LookupInode"/>.
    /// A reference that does not lead to a valid inode raises <see cref="SquashFsException"/>.
    /// </summary>
    public SquashFsEntry ReadInode(ulong inodeReference)
    {
        ThrowIfDisposed();
        return DecodeInode(inodeReference, [], "", "", expectedType: null, expectedNumber: 0);
    }

    /// <summary>
    /// Extracts the whole image, or the given <paramref name="paths"/> (files or subtrees, which land
    /// at their paths relative to the root, with their parent directories), into
    /// <paramref name="destination"/> (created when missing; the root's mode and time are applied
    /// to it only then). Preserves content, holes, permission bits, mtimes, symlinks (never
    /// followed), hard links, FIFOs, sockets and, as root, device nodes; see
    /// <see cref="ExtractOptions"/> for owners and xattrs. Linux only.
    /// </summary>
    /// <exception cref="FileNotFoundException">A requested path does not exist in the image.</exception>
    /// <exception cref="SquashFsException">The image is malformed.</exception>
    /// <exception cref="IOException">The destination refused an operation, or an entry is in the way.</exception>
    public ExtractionSummary ExtractTo(string destination, ExtractOptions? options = null, params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(paths);
        ThrowIfDisposed();
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("extraction uses Linux system calls");
        return new Extractor(this, options ?? new ExtractOptions()).Run(destination, SelectForExtraction(paths));
    }

    /// <summary>
    /// Root-to-entry chains for the requested paths, without duplicates and without paths inside
    /// another requested directory (which is extracted whole anyway).
    /// </summary>
    private List<List<SquashFsEntry>> SelectForExtraction(string[] paths)
    {
        if (paths.Length == 0) return [[Root]];
        var chains = new List<List<SquashFsEntry>>();
        foreach (var path in paths)
            chains.Add(FindChain(path) ?? throw new FileNotFoundException($"'{path}' does not exist in the image (symlinks are not followed)", path));
        var selectedDirectories = chains.Where(c => c[^1].IsDirectory).Select(c => c[^1].InodeReference).ToHashSet();
        var seen = new HashSet<string>();
        return chains
            .Where(c => !c.Take(c.Count - 1).Any(a => selectedDirectories.Contains(a.InodeReference)))
            .Where(c => seen.Add(c[^1].Path))
            .ToList();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _source.Dispose();
        _decompressors.Dispose();
        _metadata.Clear();
        _dataCache.Clear();
        _fragmentCache.Clear();
        _layouts.Clear();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Rejects entries of another image and entries of the wrong type.</summary>
    private void CheckEntry(SquashFsEntry entry, SquashFsEntryType? type)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ThrowIfDisposed();
        if (!ReferenceEquals(entry.Owner, _identity))
            throw new ArgumentException("the entry belongs to another image", nameof(entry));
        if (type is { } expected && entry.Type != expected)
            throw new ArgumentException($"'{entry.Path}' is a {entry.Type}, not a {expected}", nameof(entry));
    }
}
