using System.Buffers.Binary;
using System.Numerics;
using Xar.SquashFs.Compression;

namespace Xar.SquashFs.Format;

/// <summary>The 96-byte SquashFS 4.0 superblock.</summary>
public sealed record Superblock
{
    public uint InodeCount { get; init; }
    public uint ModificationTime { get; init; }
    public uint BlockSize { get; init; }
    public uint FragmentCount { get; init; }
    public ushort CompressorId { get; init; }
    public ushort BlockLog { get; init; }
    public SquashFsFlags Flags { get; init; }
    public ushort IdCount { get; init; }
    public ushort VersionMajor { get; init; } = 4;
    public ushort VersionMinor { get; init; }
    public ulong RootInodeReference { get; init; }
    public ulong BytesUsed { get; init; }
    public ulong IdTableStart { get; init; }
    public ulong XattrIdTableStart { get; init; } = SquashFsConstants.NoTable;
    public ulong InodeTableStart { get; init; }
    public ulong DirectoryTableStart { get; init; }
    public ulong FragmentTableStart { get; init; }
    public ulong ExportTableStart { get; init; } = SquashFsConstants.NoTable;

    public bool HasCompressorOptions => (Flags & SquashFsFlags.CompressorOptions) != 0;
    public bool HasXattrs => XattrIdTableStart != SquashFsConstants.NoTable;
    public bool HasExportTable => ExportTableStart != SquashFsConstants.NoTable;

    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < SquashFsConstants.SuperblockSize)
            throw new ArgumentException("The superblock needs 96 bytes.", nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[0..], SquashFsConstants.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], InodeCount);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], ModificationTime);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], FragmentCount);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[20..], CompressorId);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[22..], BlockLog);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[24..], (ushort)Flags);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[26..], IdCount);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[28..], VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[30..], VersionMinor);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], RootInodeReference);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[40..], BytesUsed);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[48..], IdTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[56..], XattrIdTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[64..], InodeTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[72..], DirectoryTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[80..], FragmentTableStart);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[88..], ExportTableStart);
    }

    /// <summary>
    /// Decodes and validates a superblock. <paramref name="imageLength"/> is the number of bytes
    /// available from the start of the image (the file length minus the image offset).
    /// </summary>
    public static Superblock Read(ReadOnlySpan<byte> source, long imageLength)
    {
        if (source.Length < SquashFsConstants.SuperblockSize || imageLength < SquashFsConstants.SuperblockSize)
            throw new SquashFsException($"image too short for a superblock ({imageLength} bytes, need 96)");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(source);
        if (magic != SquashFsConstants.Magic)
            throw new SquashFsException($"no SquashFS magic (found 0x{magic:x8}, want 0x{SquashFsConstants.Magic:x8} \"hsqs\")");
        var sb = new Superblock
        {
            InodeCount = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            ModificationTime = BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
            BlockSize = BinaryPrimitives.ReadUInt32LittleEndian(source[12..]),
            FragmentCount = BinaryPrimitives.ReadUInt32LittleEndian(source[16..]),
            CompressorId = BinaryPrimitives.ReadUInt16LittleEndian(source[20..]),
            BlockLog = BinaryPrimitives.ReadUInt16LittleEndian(source[22..]),
            Flags = (SquashFsFlags)BinaryPrimitives.ReadUInt16LittleEndian(source[24..]),
            IdCount = BinaryPrimitives.ReadUInt16LittleEndian(source[26..]),
            VersionMajor = BinaryPrimitives.ReadUInt16LittleEndian(source[28..]),
            VersionMinor = BinaryPrimitives.ReadUInt16LittleEndian(source[30..]),
            RootInodeReference = BinaryPrimitives.ReadUInt64LittleEndian(source[32..]),
            BytesUsed = BinaryPrimitives.ReadUInt64LittleEndian(source[40..]),
            IdTableStart = BinaryPrimitives.ReadUInt64LittleEndian(source[48..]),
            XattrIdTableStart = BinaryPrimitives.ReadUInt64LittleEndian(source[56..]),
            InodeTableStart = BinaryPrimitives.ReadUInt64LittleEndian(source[64..]),
            DirectoryTableStart = BinaryPrimitives.ReadUInt64LittleEndian(source[72..]),
            FragmentTableStart = BinaryPrimitives.ReadUInt64LittleEndian(source[80..]),
            ExportTableStart = BinaryPrimitives.ReadUInt64LittleEndian(source[88..]),
        };
        sb.Validate(imageLength);
        return sb;
    }

    private void Validate(long imageLength)
    {
        if (VersionMajor != 4 || VersionMinor != 0)
            throw new SquashFsException($"superblock: unsupported SquashFS version {VersionMajor}.{VersionMinor} (only 4.0)");
        if (BlockSize < SquashFsConstants.MinBlockSize || BlockSize > SquashFsConstants.MaxBlockSize || !BitOperations.IsPow2(BlockSize))
            throw new SquashFsException($"superblock: invalid block size {BlockSize}");
        if (BlockLog != BitOperations.Log2(BlockSize))
            throw new SquashFsException($"superblock: block_log {BlockLog} does not match block size {BlockSize}");
        if (!CompressionSettings.IsKnownCompressorId(CompressorId))
            throw new SquashFsException($"superblock: unknown compressor id {CompressorId}");
        if (IdCount == 0)
            throw new SquashFsException("superblock: id table is empty (id_count 0)");
        if (BytesUsed < SquashFsConstants.SuperblockSize || BytesUsed > (ulong)imageLength)
            throw new SquashFsException($"superblock: bytes_used {BytesUsed} exceeds the {imageLength} bytes available (truncated image?)");
        if (SquashFsConstants.ReferenceOffset(RootInodeReference) >= SquashFsConstants.MetadataBlockSize)
            throw new SquashFsException($"superblock: root inode reference 0x{RootInodeReference:x} has an offset beyond a metadata block");
        if (!(InodeTableStart >= SquashFsConstants.SuperblockSize && InodeTableStart < DirectoryTableStart
              && DirectoryTableStart < BytesUsed && IdTableStart < BytesUsed
              && (FragmentCount == 0 || (FragmentTableStart >= DirectoryTableStart && FragmentTableStart < BytesUsed))))
            throw new SquashFsException(
                $"superblock: table positions out of order (inode {InodeTableStart}, directory {DirectoryTableStart}, fragment {FragmentTableStart}, id {IdTableStart}, bytes_used {BytesUsed})");
        if (HasExportTable && ExportTableStart >= BytesUsed)
            throw new SquashFsException($"superblock: export table position {ExportTableStart} beyond bytes_used {BytesUsed}");
        if (HasXattrs && XattrIdTableStart >= BytesUsed)
            throw new SquashFsException($"superblock: xattr table position {XattrIdTableStart} beyond bytes_used {BytesUsed}");
    }
}
