namespace Xar.SquashFs.Format;

/// <summary>On-disk inode type numbers; the extended form of each basic type is basic + 7.</summary>
public enum InodeType : ushort
{
    Directory = 1,
    File = 2,
    Symlink = 3,
    BlockDevice = 4,
    CharDevice = 5,
    Fifo = 6,
    Socket = 7,
    ExtendedDirectory = 8,
    ExtendedFile = 9,
    ExtendedSymlink = 10,
    ExtendedBlockDevice = 11,
    ExtendedCharDevice = 12,
    ExtendedFifo = 13,
    ExtendedSocket = 14,
}

public static class InodeTypes
{
    public static bool IsValid(ushort type) => type is >= 1 and <= 14;
    public static InodeType Basic(InodeType type) => (ushort)type > 7 ? (InodeType)((ushort)type - 7) : type;
    public static InodeType Extended(InodeType type) => (ushort)type <= 7 ? (InodeType)((ushort)type + 7) : type;
}
