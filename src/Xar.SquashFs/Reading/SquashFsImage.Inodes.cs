using System.Buffers.Binary;
using System.Text;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

public sealed partial class SquashFsImage
{
    /// <summary>Linux refuses longer symlink targets (the kernel's squashfs checks against PAGE_SIZE).</summary>
    private const int MaxSymlinkTarget = 4096;

    /// <summary>Splits an inode reference into the absolute block position and offset, checking both.</summary>
    private (long BlockPosition, int Offset) ResolveInodeReference(ulong reference)
    {
        long block = SquashFsConstants.ReferenceBlock(reference);
        int offset = SquashFsConstants.ReferenceOffset(reference);
        if ((reference >> 48) != 0 || block >= _inodeRegion.Length || offset >= SquashFsConstants.MetadataBlockSize)
            throw new SquashFsException(
                $"inode reference 0x{reference:x} (block {block}, offset {offset}) lies outside the {_inodeRegion.Length}-byte inode table");
        return (_inodeRegion.Start + block, offset);
    }

    /// <summary>
    /// Decodes the inode at <paramref name="reference"/> into an entry. When reached through a
    /// directory entry, its type and inode number must agree with what the entry says.
    /// </summary>
    internal SquashFsEntry DecodeInode(ulong reference, byte[] nameBytes, string name, string path,
        SquashFsEntryType? expectedType, uint expectedNumber)
    {
        try
        {
            return DecodeInodeCore(reference, nameBytes, name, path, expectedType, expectedNumber);
        }
        catch (SquashFsException e)
        {
            string where = path.Length > 0 ? $"'{path}'" : $"inode {expectedNumber}";
            throw new SquashFsException($"inode table: inode of {where} at reference 0x{reference:x}: {e.Message}", e);
        }
    }

    private SquashFsEntry DecodeInodeCore(ulong reference, byte[] nameBytes, string name, string path,
        SquashFsEntryType? expectedType, uint expectedNumber)
    {
        var (blockPosition, offset) = ResolveInodeReference(reference);
        var cursor = new MetadataCursor(_metadata, _inodeRegion, blockPosition, offset);

        Span<byte> header = stackalloc byte[16];
        cursor.Read(header);
        ushort rawType = BinaryPrimitives.ReadUInt16LittleEndian(header);
        ushort mode = BinaryPrimitives.ReadUInt16LittleEndian(header[2..]);
        ushort uidIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        ushort gidIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        uint mtime = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        uint number = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);

        if (!InodeTypes.IsValid(rawType))
            throw new SquashFsException($"unknown inode type {rawType} (1..14)");
        var inodeType = (InodeType)rawType;
        var type = (SquashFsEntryType)InodeTypes.Basic(inodeType);
        if (expectedType is { } wanted && wanted != type)
            throw new SquashFsException($"the directory entry says {wanted} but the inode is a {type}");
        if (number == 0 || number > InodeCount)
            throw new SquashFsException($"inode number {number} is outside 1..{InodeCount}");
        if (expectedNumber != 0 && number != expectedNumber)
            throw new SquashFsException($"the directory entry says inode number {expectedNumber} but the inode says {number}");
        if (uidIndex >= _ids.Length || gidIndex >= _ids.Length)
            throw new SquashFsException($"uid/gid index {uidIndex}/{gidIndex} is beyond the {_ids.Length}-entry id table");

        bool extended = rawType > 7;
        var fields = new InodeFields { Xattr = SquashFsConstants.NoXattr, FragmentIndex = SquashFsConstants.NoFragment };
        switch (type)
        {
            case SquashFsEntryType.Directory: DecodeDirectory(ref cursor, ref fields, extended); break;
            case SquashFsEntryType.RegularFile: DecodeFile(ref cursor, ref fields, extended); break;
            case SquashFsEntryType.Symlink: DecodeSymlink(ref cursor, ref fields, extended); break;
            case SquashFsEntryType.BlockDevice or SquashFsEntryType.CharacterDevice: DecodeDevice(ref cursor, ref fields, extended); break;
            default: DecodeIpc(ref cursor, ref fields, extended); break;
        }
        if (fields.Xattr != SquashFsConstants.NoXattr && fields.Xattr >= XattrIdCount)
            throw new SquashFsException($"xattr index {fields.Xattr} is beyond the {XattrIdCount}-entry xattr id table");

        return new SquashFsEntry(_identity)
        {
            Name = name,
            NameBytes = nameBytes,
            Path = path,
            Type = type,
            InodeType = inodeType,
            // The mode field holds permission bits; any file-type bits a writer left in are ignored.
            Permissions = (UnixFileMode)(mode & 0xFFF),
            Uid = _ids[uidIndex],
            Gid = _ids[gidIndex],
            ModificationTimeSeconds = mtime,
            InodeNumber = number,
            InodeReference = reference,
            LinkCount = fields.LinkCount,
            Size = fields.Size,
            XattrIndex = fields.Xattr == SquashFsConstants.NoXattr ? null : fields.Xattr,
            SymlinkTarget = fields.SymlinkTarget is { } target ? Encoding.UTF8.GetString(target) : null,
            SymlinkTargetBytes = fields.SymlinkTarget,
            DeviceMajor = fields.DeviceMajor,
            DeviceMinor = fields.DeviceMinor,
            ParentInodeNumber = fields.ParentInodeNumber,
            BlocksStart = fields.BlocksStart,
            BlockCount = fields.BlockCount,
            FragmentIndex = fields.FragmentIndex,
            FragmentOffset = fields.FragmentOffset,
            BlockListPosition = fields.Position,
            BlockListOffset = fields.Offset,
            ListingPosition = fields.ListingPosition,
            ListingOffset = fields.ListingOffset,
            ListingSize = fields.ListingSize,
            DirectoryIndexCount = fields.DirectoryIndexCount,
            DirectoryIndexPosition = fields.Position,
            DirectoryIndexOffset = fields.Offset,
        };
    }

    /// <summary>The type-specific part of an inode, gathered before the entry is built.</summary>
    private struct InodeFields
    {
        public uint LinkCount;
        public long Size;
        public uint Xattr;
        public byte[]? SymlinkTarget;
        public uint DeviceMajor, DeviceMinor;
        public uint ParentInodeNumber;
        public long BlocksStart;
        public int BlockCount;
        public uint FragmentIndex;
        public int FragmentOffset;
        public long ListingPosition;
        public int ListingOffset;
        public long ListingSize;
        public int DirectoryIndexCount;
        /// <summary>Where the inode's variable part starts: a file's block list or a directory's index.</summary>
        public long Position;
        public int Offset;
    }

    private void DecodeDirectory(ref MetadataCursor cursor, ref InodeFields fields, bool extended)
    {
        uint startBlock, nlink, fileSize, parent, xattr = SquashFsConstants.NoXattr;
        int offset, indexCount = 0;
        if (!extended)
        {
            Span<byte> b = stackalloc byte[16];
            cursor.Read(b);
            startBlock = BinaryPrimitives.ReadUInt32LittleEndian(b);
            nlink = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
            fileSize = BinaryPrimitives.ReadUInt16LittleEndian(b[8..]);
            offset = BinaryPrimitives.ReadUInt16LittleEndian(b[10..]);
            parent = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        }
        else
        {
            Span<byte> b = stackalloc byte[24];
            cursor.Read(b);
            nlink = BinaryPrimitives.ReadUInt32LittleEndian(b);
            fileSize = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
            startBlock = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
            parent = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
            indexCount = BinaryPrimitives.ReadUInt16LittleEndian(b[16..]);
            offset = BinaryPrimitives.ReadUInt16LittleEndian(b[18..]);
            xattr = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]);
        }
        if (fileSize < 3)
            throw new SquashFsException($"directory file_size {fileSize} is below 3");
        long listingSize = fileSize - 3L;
        if (listingSize > 0 && (startBlock >= _directoryRegion.Length || offset >= SquashFsConstants.MetadataBlockSize))
            throw new SquashFsException(
                $"directory listing at block {startBlock}, offset {offset} lies outside the {_directoryRegion.Length}-byte directory table");
        if (parent == 0 || parent > (ulong)InodeCount + 1)
            throw new SquashFsException($"parent inode number {parent} is outside 1..{(ulong)InodeCount + 1}");
        fields.LinkCount = nlink;
        fields.Size = fileSize;
        fields.Xattr = xattr;
        fields.ParentInodeNumber = parent;
        fields.ListingPosition = _directoryRegion.Start + startBlock;
        fields.ListingOffset = offset;
        fields.ListingSize = listingSize;
        fields.DirectoryIndexCount = listingSize > 0 ? indexCount : 0;
        (fields.Position, fields.Offset) = cursor.Position;
    }

    private void DecodeFile(ref MetadataCursor cursor, ref InodeFields fields, bool extended)
    {
        ulong startBlock, fileSize;
        uint fragment, fragmentOffset, nlink = 1, xattr = SquashFsConstants.NoXattr;
        if (!extended)
        {
            Span<byte> b = stackalloc byte[16];
            cursor.Read(b);
            startBlock = BinaryPrimitives.ReadUInt32LittleEndian(b);
            fragment = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
            fragmentOffset = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
            fileSize = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        }
        else
        {
            Span<byte> b = stackalloc byte[40];
            cursor.Read(b);
            startBlock = BinaryPrimitives.ReadUInt64LittleEndian(b);
            fileSize = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]);
            // b[16..24] is the sparse byte count: informational, the block list is authoritative.
            nlink = BinaryPrimitives.ReadUInt32LittleEndian(b[24..]);
            fragment = BinaryPrimitives.ReadUInt32LittleEndian(b[28..]);
            fragmentOffset = BinaryPrimitives.ReadUInt32LittleEndian(b[32..]);
            xattr = BinaryPrimitives.ReadUInt32LittleEndian(b[36..]);
        }
        if (fileSize > long.MaxValue || startBlock > long.MaxValue)
            throw new SquashFsException($"file size {fileSize} or start block {startBlock} is out of range");
        if (nlink == 0)
            throw new SquashFsException("file link count is 0");

        long size = (long)fileSize;
        long tail = size & (_blockSize - 1);
        bool hasFragment = fragment != SquashFsConstants.NoFragment;
        // Whole blocks, plus the partial last one unless it is in a fragment (no rounding up:
        // size + block size - 1 overflows for sizes near 2^63).
        long blockCount = (size >> _blockLog) + (tail != 0 && !hasFragment ? 1 : 0);
        if (hasFragment)
        {
            if (fragment >= FragmentCount)
                throw new SquashFsException($"fragment index {fragment} is beyond the {FragmentCount}-entry fragment table");
            if (tail == 0)
                throw new SquashFsException($"a file of {size} bytes (a whole number of blocks) has a fragment");
            if (fragmentOffset >= _blockSize || fragmentOffset + tail > _blockSize)
                throw new SquashFsException($"fragment offset {fragmentOffset} + tail {tail} exceeds the block size {_blockSize}");
        }
        // Each block needs a 4-byte word in the inode table after this inode, so the count is
        // bounded by what the rest of the table could hold once decompressed (a metadata block is
        // at least 3 bytes on disk and at most 8 KiB expanded), and by what an array can index.
        var (position, _) = cursor.Position;
        long metadataBlocks = Math.Min((_inodeRegion.End - position) / 3 + 1, Array.MaxLength);
        long maxBlocks = Math.Min(metadataBlocks * (SquashFsConstants.MetadataBlockSize / 4), Array.MaxLength);
        if (blockCount > maxBlocks)
            throw new SquashFsException(
                $"file size {size} needs {blockCount} blocks of {_blockSize} bytes, more block words than the inode table can hold after the inode (at most {maxBlocks})");

        fields.LinkCount = nlink;
        fields.Size = size;
        fields.Xattr = xattr;
        fields.BlocksStart = (long)startBlock;
        fields.BlockCount = (int)blockCount;
        fields.FragmentIndex = fragment;
        fields.FragmentOffset = hasFragment ? (int)fragmentOffset : 0;
        (fields.Position, fields.Offset) = cursor.Position;
    }

    private static void DecodeSymlink(ref MetadataCursor cursor, ref InodeFields fields, bool extended)
    {
        uint nlink = cursor.ReadUInt32();
        uint length = cursor.ReadUInt32();
        if (length is 0 or > MaxSymlinkTarget)
            throw new SquashFsException($"symlink target length {length} is outside 1..{MaxSymlinkTarget}");
        var target = new byte[length];
        cursor.Read(target);
        if (target.AsSpan().Contains((byte)0))
            throw new SquashFsException("symlink target contains a NUL byte");
        fields.LinkCount = nlink;
        fields.Size = length;
        fields.SymlinkTarget = target;
        if (extended) fields.Xattr = cursor.ReadUInt32();
    }

    private static void DecodeDevice(ref MetadataCursor cursor, ref InodeFields fields, bool extended)
    {
        fields.LinkCount = cursor.ReadUInt32();
        uint rdev = cursor.ReadUInt32();
        fields.DeviceMajor = SquashFsConstants.DeviceMajor(rdev);
        fields.DeviceMinor = SquashFsConstants.DeviceMinor(rdev);
        if (extended) fields.Xattr = cursor.ReadUInt32();
    }

    private static void DecodeIpc(ref MetadataCursor cursor, ref InodeFields fields, bool extended)
    {
        fields.LinkCount = cursor.ReadUInt32();
        if (extended) fields.Xattr = cursor.ReadUInt32();
    }
}
