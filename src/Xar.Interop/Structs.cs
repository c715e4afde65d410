using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>struct statx (linux/stat.h): one layout on every architecture, unlike struct stat.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StatX
{
    public uint Mask;
    public uint BlockSize;
    public ulong Attributes;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ushort Mode;
    private ushort _spare0;
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong AttributesMask;
    public StatXTimestamp Atime;
    public StatXTimestamp Btime;
    public StatXTimestamp Ctime;
    public StatXTimestamp Mtime;
    public uint RdevMajor;
    public uint RdevMinor;
    public uint DevMajor;
    public uint DevMinor;
    private unsafe fixed ulong _spare2[14];

    /// <summary>STATX_BASIC_STATS: type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks.</summary>
    public const uint BasicStats = 0x7ff;

    public readonly bool IsDirectory => (Mode & 0xF000) == 0x4000;

    public readonly bool IsRegularFile => (Mode & 0xF000) == 0x8000;

    public readonly bool IsSymbolicLink => (Mode & 0xF000) == 0xA000;

    /// <summary>Permission bits including set-id and sticky (mode &amp; 07777).</summary>
    public readonly int Permissions => Mode & 0xFFF;
}

[StructLayout(LayoutKind.Sequential)]
public struct StatXTimestamp
{
    public long Seconds;
    public uint Nanoseconds;
    private int _reserved;
}

/// <summary>struct dirent64 of glibc.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct DirEnt64
{
    public ulong Ino;
    public long Offset;
    public ushort RecordLength;
    public byte Type;
    public fixed byte Name[256];
}

/// <summary>struct timespec of 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TimeSpec
{
    public long Seconds;
    public long Nanoseconds;
}

/// <summary>struct open_how of openat2.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct OpenHow
{
    public ulong Flags;
    public ulong Mode;
    public ulong Resolve;
}

/// <summary>struct statfs of 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StatFs
{
    public long Type;
    public long BlockSize;
    public ulong Blocks;
    public ulong BlocksFree;
    public ulong BlocksAvailable;
    public ulong Files;
    public ulong FilesFree;
    public ulong FsId;
    public long NameLength;
    public long FragmentSize;
    public long Flags;
    private unsafe fixed long _spare[4];
}

/// <summary>struct msghdr of 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Vectors;
    public nuint VectorCount;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct IoVector
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct pollfd.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PollFd
{
    public int Fd;
    public short Events;
    public short ReturnedEvents;
}

/// <summary>struct cmsghdr carrying one descriptor (SCM_RIGHTS): CMSG_SPACE(sizeof(int)) bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DescriptorMessage
{
    /// <summary>CMSG_LEN(sizeof(int)): the header and the descriptor, without the trailing padding.</summary>
    public const int UsedLength = 20;

    public nuint Length;
    public int Level;
    public int Type;
    public int Descriptor;
    public int Padding;
}
