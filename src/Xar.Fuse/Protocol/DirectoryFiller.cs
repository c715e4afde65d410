using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Xar.Fuse.Protocol;

/// <summary>
/// Packs directory entries into a READDIR (fuse_dirent) or READDIRPLUS (fuse_direntplus) reply
/// buffer, each padded to 8 bytes, and refuses the entry that would not fit.
/// </summary>
public ref struct DirectoryFiller
{
    private readonly Span<byte> _buffer;
    private readonly ulong _validSeconds;
    private readonly uint _validNanoseconds;

    internal DirectoryFiller(Span<byte> buffer, bool plus, TimeSpan timeout)
    {
        _buffer = buffer;
        IsPlus = plus;
        (_validSeconds, _validNanoseconds) = FuseSession.Split(timeout);
    }

    /// <summary>READDIRPLUS: entries carry attributes, and those with a node id are lookups.</summary>
    public bool IsPlus { get; }

    /// <summary>Bytes used so far.</summary>
    public int Length { get; private set; }

    /// <summary>
    /// Adds one entry; false (nothing added) when the buffer is full. <paramref name="node"/> 0
    /// gives the kernel no entry information (for "." and "..").
    /// </summary>
    public bool Add(ReadOnlySpan<byte> name, ulong node, in FuseNodeAttributes attributes, long nextOffset)
    {
        int header = (IsPlus ? Unsafe.SizeOf<FuseEntryOut>() : 0) + Unsafe.SizeOf<FuseDirent>();
        int size = (header + name.Length + 7) & ~7;
        if (size > _buffer.Length - Length)
            return false;
        Span<byte> target = _buffer.Slice(Length, size);
        target.Clear();
        int position = 0;
        if (IsPlus)
        {
            var entry = new FuseEntryOut
            {
                NodeId = node,
                EntryValid = node == 0 ? 0 : _validSeconds,
                EntryValidNsec = node == 0 ? 0 : _validNanoseconds,
                AttrValid = node == 0 ? 0 : _validSeconds,
                AttrValidNsec = node == 0 ? 0 : _validNanoseconds,
                Attr = FuseSession.ToKernel(attributes),
            };
            MemoryMarshal.Write(target, in entry);
            position = Unsafe.SizeOf<FuseEntryOut>();
        }
        var dirent = new FuseDirent
        {
            Ino = attributes.Ino,
            Offset = (ulong)nextOffset,
            NameLength = (uint)name.Length,
            Type = (attributes.Mode >> 12) & 0xF,
        };
        MemoryMarshal.Write(target[position..], in dirent);
        name.CopyTo(target[(position + Unsafe.SizeOf<FuseDirent>())..]);
        Length += size;
        return true;
    }
}
