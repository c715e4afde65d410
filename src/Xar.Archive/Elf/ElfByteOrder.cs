using System.Buffers.Binary;

namespace Xar.Archive.Elf;

/// <summary>Reads an ELF object's fields in its byte order (e_ident[EI_DATA]): one reader for the ELF code of this assembly.</summary>
internal readonly struct ElfByteOrder(bool bigEndian)
{
    public bool IsBigEndian => bigEndian;

    public ushort U16(ReadOnlySpan<byte> s, int at) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s[at..]) : BinaryPrimitives.ReadUInt16LittleEndian(s[at..]);

    public uint U32(ReadOnlySpan<byte> s, int at) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);

    public ulong U64(ReadOnlySpan<byte> s, int at) =>
        bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s[at..]) : BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);
}
