using System.Buffers;
using System.Buffers.Binary;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Writing;

/// <summary>
/// Writes the inode and directory tables. Directories are completed bottom-up: a directory's
/// children get their inodes written consecutively (in name order, so each listing needs few run
/// headers), then its listing goes to the directory table, and its own inode is written by its
/// parent. The root inode comes last.
/// </summary>
internal sealed class InodeTableBuilder : IDisposable
{
    private readonly MetadataWriter _inodes;
    private readonly MetadataWriter _directories;
    private readonly IdTable _ids;
    private readonly XattrTableBuilder? _xattrs;
    private readonly Func<TreeNode, uint> _time;
    private readonly uint _inodeCount;
    private readonly byte[] _run = new byte[SquashFsConstants.MaxDirectoryRunEntries * (8 + SquashFsConstants.MaxNameLength)];

    public InodeTableBuilder(BlockCompressor compressor, IdTable ids, XattrTableBuilder? xattrs, uint inodeCount, Func<TreeNode, uint> time)
    {
        _inodes = new MetadataWriter(compressor);
        _directories = new MetadataWriter(compressor);
        _ids = ids;
        _xattrs = xattrs;
        _inodeCount = inodeCount;
        _time = time;
        ExportReferences = new ulong[inodeCount];
    }

    /// <summary>Inode reference of inode number i + 1.</summary>
    public ulong[] ExportReferences { get; }

    public MetadataWriter InodeTable => _inodes;
    public MetadataWriter DirectoryTable => _directories;

    /// <summary>Writes every inode and listing; returns the root inode reference.</summary>
    public ulong Build(TreeNode root)
    {
        CompleteDirectory(root);
        WriteInode(root);
        _inodes.Finish();
        _directories.Finish();
        return root.InodeReference;
    }

    private void CompleteDirectory(TreeNode directory)
    {
        // Iterative post-order walk: deep trees must not exhaust the stack.
        var stack = new Stack<(TreeNode Dir, int NextChild)>();
        stack.Push((directory, 0));
        while (stack.Count > 0)
        {
            var (dir, next) = stack.Pop();
            var children = dir.Children!;
            int i = next;
            while (i < children.Count && !(children[i].IsDirectory && children[i].HardLinkPrimary is null)) i++;
            if (i < children.Count)
            {
                stack.Push((dir, i + 1));
                stack.Push((children[i], 0));
                continue;
            }
            foreach (var child in children)
                WriteInode(child.Inode);
            WriteListing(dir);
        }
    }

    // ---------------------------------------------------------------- inodes

    private void WriteInode(TreeNode node)
    {
        if (node.InodeWritten) return;
        node.InodeWritten = true;
        node.InodeReference = _inodes.Reference;
        ExportReferences[node.InodeNumber - 1] = node.InodeReference;
        if (node.Xattrs is not null && _xattrs is not null)
            node.XattrIndex = _xattrs.Add(node.Xattrs);
        bool hasXattr = node.XattrIndex != SquashFsConstants.NoXattr;

        switch (node.Type)
        {
            case InodeType.File:
                WriteFileInode(node, hasXattr);
                return;
            case InodeType.Directory:
                WriteDirectoryInode(node, hasXattr);
                return;
        }

        Span<byte> inode = stackalloc byte[32 + SquashFsConstants.MaxNameLength];
        int length;
        var type = hasXattr ? InodeTypes.Extended(node.Type) : node.Type;
        WriteHeader(inode, type, node);
        BinaryPrimitives.WriteUInt32LittleEndian(inode[16..], node.LinkCount);
        switch (node.Type)
        {
            case InodeType.Symlink:
            {
                var target = node.SymlinkTarget!;
                BinaryPrimitives.WriteUInt32LittleEndian(inode[20..], (uint)target.Length);
                _inodes.Write(inode[..24]);
                _inodes.Write(target);
                if (hasXattr)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(inode, node.XattrIndex);
                    _inodes.Write(inode[..4]);
                }
                return;
            }
            case InodeType.CharDevice or InodeType.BlockDevice:
                BinaryPrimitives.WriteUInt32LittleEndian(inode[20..], node.Rdev);
                length = 24;
                break;
            default: // fifo, socket
                length = 20;
                break;
        }
        if (hasXattr)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(inode[length..], node.XattrIndex);
            length += 4;
        }
        _inodes.Write(inode[..length]);
    }

    private void WriteFileInode(TreeNode node, bool hasXattr)
    {
        var data = node.Data ?? FileData.Empty;
        var words = data.BlockWords;
        bool extended = hasXattr || node.LinkCount > 1 || data.Size > uint.MaxValue
                        || data.StartBlock > uint.MaxValue || data.SparseBytes > 0;
        int headerLength = extended ? 56 : 32;
        int length = headerLength + 4 * words.Length;
        byte[]? rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> inode = rented ?? stackalloc byte[512];
        WriteHeader(inode, extended ? InodeType.ExtendedFile : InodeType.File, node);
        if (extended)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(inode[16..], (ulong)data.StartBlock);
            BinaryPrimitives.WriteUInt64LittleEndian(inode[24..], (ulong)data.Size);
            // mksquashfs clamps the sparse count below the file size; the kernel only compares it with 0.
            BinaryPrimitives.WriteUInt64LittleEndian(inode[32..], (ulong)Math.Min(data.SparseBytes, Math.Max(data.Size - 1, 0)));
            BinaryPrimitives.WriteUInt32LittleEndian(inode[40..], node.LinkCount);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[44..], data.FragmentIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[48..], data.FragmentOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[52..], node.XattrIndex);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(inode[16..], (uint)data.StartBlock);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[20..], data.FragmentIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[24..], data.FragmentOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[28..], (uint)data.Size);
        }
        for (int i = 0; i < words.Length; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(inode[(headerLength + 4 * i)..], words[i]);
        _inodes.Write(inode[..length]);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }

    private void WriteDirectoryInode(TreeNode dir, bool hasXattr)
    {
        var listing = dir.Listing!;
        uint nlink = 2;
        foreach (var child in dir.Children!)
            if (child.IsDirectory) nlink++;
        uint parent = dir.Parent?.InodeNumber ?? _inodeCount + 1;
        bool extended = hasXattr || listing.Index.Count > 0 || listing.FileSize > ushort.MaxValue;
        Span<byte> inode = stackalloc byte[40];
        WriteHeader(inode, extended ? InodeType.ExtendedDirectory : InodeType.Directory, dir);
        if (!extended)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(inode[16..], listing.StartBlock);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[20..], nlink);
            BinaryPrimitives.WriteUInt16LittleEndian(inode[24..], (ushort)listing.FileSize);
            BinaryPrimitives.WriteUInt16LittleEndian(inode[26..], listing.Offset);
            BinaryPrimitives.WriteUInt32LittleEndian(inode[28..], parent);
            _inodes.Write(inode[..32]);
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(inode[16..], nlink);
        BinaryPrimitives.WriteUInt32LittleEndian(inode[20..], listing.FileSize);
        BinaryPrimitives.WriteUInt32LittleEndian(inode[24..], listing.StartBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(inode[28..], parent);
        BinaryPrimitives.WriteUInt16LittleEndian(inode[32..], (ushort)listing.Index.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(inode[34..], listing.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(inode[36..], dir.XattrIndex);
        _inodes.Write(inode);
        Span<byte> entry = stackalloc byte[12];
        foreach (var index in listing.Index)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(entry, index.ListingOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], index.StartBlock);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], (uint)(index.Name.Length - 1));
            _inodes.Write(entry);
            _inodes.Write(index.Name);
        }
    }

    private void WriteHeader(Span<byte> inode, InodeType type, TreeNode node)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(inode, (ushort)type);
        BinaryPrimitives.WriteUInt16LittleEndian(inode[2..], node.Permissions);
        BinaryPrimitives.WriteUInt16LittleEndian(inode[4..], _ids.IndexOf(node.Uid));
        BinaryPrimitives.WriteUInt16LittleEndian(inode[6..], _ids.IndexOf(node.Gid));
        BinaryPrimitives.WriteUInt32LittleEndian(inode[8..], _time(node));
        BinaryPrimitives.WriteUInt32LittleEndian(inode[12..], node.InodeNumber);
    }

    // ---------------------------------------------------------------- directory listings

    private void WriteListing(TreeNode dir)
    {
        var children = dir.Children!;
        uint startBlock = (uint)_directories.BlockPosition;
        ushort startOffset = (ushort)_directories.Offset;
        var index = new List<DirectoryIndexEntry>();
        uint listingLength = 0;
        uint lastIndexPoint = 0;
        Span<byte> header = stackalloc byte[12];

        int i = 0;
        while (i < children.Count)
        {
            var first = children[i].Inode;
            long runBlock = SquashFsConstants.ReferenceBlock(first.InodeReference);
            uint runBase = first.InodeNumber;
            uint headerOffset = listingLength;
            bool indexed = listingLength > 0 && listingLength + 12 + EntryLength(children[i]) - lastIndexPoint > SquashFsConstants.MetadataBlockSize;
            if (indexed) lastIndexPoint = listingLength;
            listingLength += 12;

            int runUsed = 0, count = 0;
            while (i < children.Count && count < SquashFsConstants.MaxDirectoryRunEntries)
            {
                var child = children[i];
                var inode = child.Inode;
                long delta = (long)inode.InodeNumber - runBase;
                int entryLength = EntryLength(child);
                if (count > 0 && (SquashFsConstants.ReferenceBlock(inode.InodeReference) != runBlock
                                  || delta is < short.MinValue or > short.MaxValue
                                  || listingLength + entryLength - lastIndexPoint > SquashFsConstants.MetadataBlockSize))
                    break;
                var entry = _run.AsSpan(runUsed);
                BinaryPrimitives.WriteUInt16LittleEndian(entry, (ushort)SquashFsConstants.ReferenceOffset(inode.InodeReference));
                BinaryPrimitives.WriteInt16LittleEndian(entry[2..], (short)delta);
                BinaryPrimitives.WriteUInt16LittleEndian(entry[4..], (ushort)inode.Type);
                BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], (ushort)(child.Name.Length - 1));
                child.Name.CopyTo(entry[8..]);
                runUsed += entryLength;
                listingLength += (uint)entryLength;
                count++;
                i++;
            }

            if (indexed)
                index.Add(new DirectoryIndexEntry(headerOffset, (uint)_directories.BlockPosition, children[i - count].Name));
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)(count - 1));
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)runBlock);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], runBase);
            _directories.Write(header);
            _directories.Write(_run.AsSpan(0, runUsed));
        }

        dir.Listing = new DirectoryListing
        {
            StartBlock = startBlock,
            Offset = startOffset,
            FileSize = listingLength + 3,
            Index = index,
        };
    }

    private static int EntryLength(TreeNode child) => 8 + child.Name.Length;

    public void Dispose()
    {
        _inodes.Dispose();
        _directories.Dispose();
    }
}

/// <summary>The distinct uid/gid values, in order of first use; inodes store 16-bit indexes into it.</summary>
internal sealed class IdTable
{
    private readonly Dictionary<uint, ushort> _index = [];
    public List<uint> Ids { get; } = [];

    public ushort IndexOf(uint id)
    {
        if (_index.TryGetValue(id, out var i)) return i;
        if (Ids.Count > ushort.MaxValue)
            throw new SquashFsException("more than 65536 distinct owners: SquashFS cannot store them");
        i = (ushort)Ids.Count;
        Ids.Add(id);
        _index.Add(id, i);
        return i;
    }

    public byte[] Records()
    {
        var records = new byte[Ids.Count * SquashFsConstants.IdEntrySize];
        for (int i = 0; i < Ids.Count; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(records.AsSpan(i * 4), Ids[i]);
        return records;
    }
}
