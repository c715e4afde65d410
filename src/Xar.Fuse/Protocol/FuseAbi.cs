using System.Runtime.InteropServices;

namespace Xar.Fuse.Protocol;

/// <summary>
/// The kernel's FUSE ABI (include/uapi/linux/fuse.h): opcodes, flags and the structs a read-only
/// server exchanges, laid out exactly as the kernel does (little-endian hosts: x64, arm64).
/// </summary>
internal static class FuseAbi
{
    public const uint KernelMajor = 7;

    /// <summary>The newest minor version whose structs this server knows (fuse_init_out of 7.36+).</summary>
    public const uint KernelMinor = 36;

    /// <summary>Kernels before 7.23 take the 24-byte fuse_init_out (FUSE_COMPAT_22_INIT_OUT_SIZE).</summary>
    public const int Compat22InitOutSize = 24;

    public const ulong RootId = 1;

    public const uint FOPEN_KEEP_CACHE = 1 << 1;
    public const uint FOPEN_CACHE_DIR = 1 << 3;

    public const int InHeaderSize = 40;
    public const int OutHeaderSize = 16;
}

internal enum FuseOpcode : uint
{
    Lookup = 1,
    Forget = 2,
    GetAttr = 3,
    SetAttr = 4,
    ReadLink = 5,
    Symlink = 6,
    MkNod = 8,
    MkDir = 9,
    Unlink = 10,
    RmDir = 11,
    Rename = 12,
    Link = 13,
    Open = 14,
    Read = 15,
    Write = 16,
    StatFs = 17,
    Release = 18,
    FSync = 20,
    SetXattr = 21,
    GetXattr = 22,
    ListXattr = 23,
    RemoveXattr = 24,
    Flush = 25,
    Init = 26,
    OpenDir = 27,
    ReadDir = 28,
    ReleaseDir = 29,
    FSyncDir = 30,
    Access = 34,
    Create = 35,
    Interrupt = 36,
    Destroy = 38,
    BatchForget = 42,
    Fallocate = 43,
    ReadDirPlus = 44,
    Rename2 = 45,
    CopyFileRange = 47,
    TmpFile = 51,
}

/// <summary>fuse_init_in/out flag bits (the low 32; flags2 holds bits 32–63).</summary>
[Flags]
internal enum FuseInitFlags : uint
{
    AsyncRead = 1 << 0,
    BigWrites = 1 << 5,
    DoReaddirplus = 1 << 13,
    ParallelDirops = 1 << 18,
    MaxPages = 1 << 22,
    CacheSymlinks = 1 << 23,
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseInHeader
{
    public uint Length;
    public FuseOpcode Opcode;
    public ulong Unique;
    public ulong NodeId;
    public uint Uid;
    public uint Gid;
    public uint Pid;
    public ushort TotalExtensionLength;
    public ushort Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseOutHeader
{
    public uint Length;
    public int Error;
    public ulong Unique;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseInitIn
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseInitOut
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public ushort MaxBackground;
    public ushort CongestionThreshold;
    public uint MaxWrite;
    public uint TimeGranularity;
    public ushort MaxPages;
    public ushort MapAlignment;
    public uint Flags2;
    public uint MaxStackDepth;
    public ushort RequestTimeout;
    private fixed ushort _unused[11];
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseAttr
{
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong ATime;
    public ulong MTime;
    public ulong CTime;
    public uint ATimeNsec;
    public uint MTimeNsec;
    public uint CTimeNsec;
    public uint Mode;
    public uint NLink;
    public uint Uid;
    public uint Gid;
    public uint RDev;
    public uint BlockSize;
    public uint Flags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseEntryOut
{
    public ulong NodeId;
    public ulong Generation;
    public ulong EntryValid;
    public ulong AttrValid;
    public uint EntryValidNsec;
    public uint AttrValidNsec;
    public FuseAttr Attr;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseAttrOut
{
    public ulong AttrValid;
    public uint AttrValidNsec;
    public uint Dummy;
    public FuseAttr Attr;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseOpenOut
{
    public ulong FileHandle;
    public uint OpenFlags;
    public int BackingId;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseReadIn
{
    public ulong FileHandle;
    public ulong Offset;
    public uint Size;
    public uint ReadFlags;
    public ulong LockOwner;
    public uint Flags;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseDirent
{
    public ulong Ino;
    public ulong Offset;
    public uint NameLength;
    public uint Type;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseKStatFs
{
    public ulong Blocks;
    public ulong BlocksFree;
    public ulong BlocksAvailable;
    public ulong Files;
    public ulong FilesFree;
    public uint BlockSize;
    public uint NameLength;
    public uint FragmentSize;
    public uint Padding;
    private fixed uint _spare[6];
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseGetxattrIn
{
    public uint Size;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseGetxattrOut
{
    public uint Size;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FuseForgetOne
{
    public ulong NodeId;
    public ulong Count;
}
