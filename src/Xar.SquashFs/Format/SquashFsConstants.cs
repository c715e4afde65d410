namespace Xar.SquashFs.Format;

/// <summary>Numbers fixed by the SquashFS 4.0 format (see docs/squashfs-format.md).</summary>
public static class SquashFsConstants
{
    public const uint Magic = 0x73717368;
    public const int SuperblockSize = 96;
    public const int MetadataBlockSize = 8192;
    /// <summary>Bit 15 of a metadata block header: the block is stored uncompressed.</summary>
    public const ushort MetadataUncompressed = 0x8000;
    /// <summary>Bit 24 of a block-size word: the data block is stored uncompressed.</summary>
    public const uint DataUncompressed = 0x0100_0000;
    public const uint DataSizeMask = 0x00FF_FFFF;
    public const uint NoFragment = 0xFFFF_FFFF;
    public const uint NoXattr = 0xFFFF_FFFF;
    public const ulong NoTable = 0xFFFF_FFFF_FFFF_FFFF;
    public const int MinBlockSize = 4096;
    public const int MaxBlockSize = 1 << 20;
    public const int DefaultBlockSize = 128 * 1024;
    public const int MaxNameLength = 256;
    public const int MaxDirectoryRunEntries = 256;
    public const int FragmentEntrySize = 16;
    public const int ExportEntrySize = 8;
    public const int IdEntrySize = 4;
    public const int XattrIdEntrySize = 16;
    /// <summary>mksquashfs pads images to this multiple so that loop mounts work.</summary>
    public const int Padding = 4096;

    /// <summary>Packs a metadata reference: the block's position relative to its table, and the offset inside it.</summary>
    public static ulong MetadataReference(long blockPosition, int offset) => ((ulong)blockPosition << 16) | (uint)offset;
    public static long ReferenceBlock(ulong reference) => (long)(reference >> 16);
    public static int ReferenceOffset(ulong reference) => (int)(reference & 0xFFFF);

    /// <summary>Linux "huge" device-number encoding used in device inodes.</summary>
    public static uint EncodeDevice(uint major, uint minor) => (major << 8) | (minor & 0xFF) | ((minor & ~0xFFu) << 12);
    public static uint DeviceMajor(uint rdev) => (rdev >> 8) & 0xFFF;
    public static uint DeviceMinor(uint rdev) => (rdev & 0xFF) | ((rdev >> 12) & 0xFFF00);
}
