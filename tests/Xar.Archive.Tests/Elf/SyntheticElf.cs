using System.Buffers.Binary;
using System.Text;

namespace Xar.Archive.Tests.Elf;

/// <summary>
/// A minimal dynamic ELF object written byte by byte, in either class and byte order (no cross
/// compiler makes a big-endian one here): the ELF header, a PT_LOAD mapping the whole file at
/// <see cref="Base"/>, PT_DYNAMIC, the dynamic table, the string table and a DT_VERNEED chain.
/// readelf reads it as it reads real objects, which makes it an oracle for the reader.
/// </summary>
internal sealed record SyntheticElf
{
    public const long Base = 0x400000;

    public bool Is64 { get; init; } = true;
    public bool BigEndian { get; init; }
    public ushort Machine { get; init; } = 62;
    public string[] Needed { get; init; } = [];
    public string? Soname { get; init; }
    public string? Rpath { get; init; }
    public string? Runpath { get; init; }
    public (string File, string[] Versions)[] VersionsNeeded { get; init; } = [];

    public byte[] Build()
    {
        int headerSize = Is64 ? 64 : 52;
        int programEntry = Is64 ? 56 : 32;
        int dynamicEntry = Is64 ? 16 : 8;

        var strings = new MemoryStream();
        strings.WriteByte(0);
        var offsets = new Dictionary<string, int>();
        int Str(string s)
        {
            if (offsets.TryGetValue(s, out int known)) return known;
            int at = (int)strings.Length;
            strings.Write(Encoding.UTF8.GetBytes(s));
            strings.WriteByte(0);
            return offsets[s] = at;
        }

        var dynamic = new List<(long Tag, long Value)>();
        foreach (string n in Needed) dynamic.Add((1, Str(n)));
        if (Soname is not null) dynamic.Add((14, Str(Soname)));
        if (Rpath is not null) dynamic.Add((15, Str(Rpath)));
        if (Runpath is not null) dynamic.Add((29, Str(Runpath)));

        // Elf_Verneed (16 bytes) followed by its Elf_Vernaux records (16 bytes each).
        var verneed = new List<byte>();
        for (int i = 0; i < VersionsNeeded.Length; i++)
        {
            var (needed, versions) = VersionsNeeded[i];
            int recordSize = 16 + 16 * versions.Length;
            verneed.AddRange(U16(1)); verneed.AddRange(U16((ushort)versions.Length)); verneed.AddRange(U32((uint)Str(needed)));
            verneed.AddRange(U32(16)); verneed.AddRange(U32(i == VersionsNeeded.Length - 1 ? 0u : (uint)recordSize));
            for (int j = 0; j < versions.Length; j++)
            {
                verneed.AddRange(U32(ElfHash(versions[j]))); verneed.AddRange(U16(0)); verneed.AddRange(U16((ushort)(j + 2)));
                verneed.AddRange(U32((uint)Str(versions[j]))); verneed.AddRange(U32(j == versions.Length - 1 ? 0u : 16u));
            }
        }

        int programTable = headerSize;
        int dynamicTable = programTable + 2 * programEntry;
        int dynamicCount = dynamic.Count + 3 + (VersionsNeeded.Length > 0 ? 2 : 0);
        int stringTable = dynamicTable + dynamicCount * dynamicEntry;
        int verneedTable = Align(stringTable + (int)strings.Length, 8);
        int fileSize = verneedTable + verneed.Count;

        dynamic.Add((5, Base + stringTable));
        dynamic.Add((10, strings.Length));
        if (VersionsNeeded.Length > 0)
        {
            dynamic.Add((0x6ffffffe, Base + verneedTable));
            dynamic.Add((0x6fffffff, VersionsNeeded.Length));
        }
        dynamic.Add((0, 0));

        var file = new byte[fileSize];
        Span<byte> f = file;
        f[0] = 0x7F; f[1] = (byte)'E'; f[2] = (byte)'L'; f[3] = (byte)'F';
        f[4] = (byte)(Is64 ? 2 : 1);
        f[5] = (byte)(BigEndian ? 2 : 1);
        f[6] = 1;
        Put16(f, 16, 3); // ET_DYN
        Put16(f, 18, Machine);
        Put32(f, 20, 1);
        PutAddress(f, Is64 ? 0x20 : 0x1C, programTable);
        Put16(f, Is64 ? 0x34 : 0x28, (ushort)headerSize);
        Put16(f, Is64 ? 0x36 : 0x2A, (ushort)programEntry);
        Put16(f, Is64 ? 0x38 : 0x2C, 2);
        Put16(f, Is64 ? 0x3A : 0x2E, (ushort)(Is64 ? 64 : 40));

        WriteProgram(f, programTable, type: 1, offset: 0, size: fileSize, flags: 4);
        WriteProgram(f, programTable + programEntry, type: 2, offset: dynamicTable, size: dynamicCount * dynamicEntry, flags: 6);
        for (int i = 0; i < dynamic.Count; i++)
        {
            PutAddress(f, dynamicTable + i * dynamicEntry, dynamic[i].Tag);
            PutAddress(f, dynamicTable + i * dynamicEntry + dynamicEntry / 2, dynamic[i].Value);
        }
        strings.ToArray().CopyTo(f[stringTable..]);
        verneed.ToArray().CopyTo(f[verneedTable..]);
        return file;
    }

    private void WriteProgram(Span<byte> f, int at, uint type, long offset, long size, uint flags)
    {
        Put32(f, at, type);
        if (Is64)
        {
            Put32(f, at + 4, flags);
            PutAddress(f, at + 8, offset);
            PutAddress(f, at + 16, Base + offset);
            PutAddress(f, at + 24, Base + offset);
            PutAddress(f, at + 32, size);
            PutAddress(f, at + 40, size);
            PutAddress(f, at + 48, 8);
        }
        else
        {
            PutAddress(f, at + 4, offset);
            PutAddress(f, at + 8, Base + offset);
            PutAddress(f, at + 12, Base + offset);
            PutAddress(f, at + 16, size);
            PutAddress(f, at + 20, size);
            Put32(f, at + 24, flags);
            PutAddress(f, at + 28, 4);
        }
    }

    private static int Align(int value, int to) => (value + to - 1) / to * to;

    private static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (byte c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    private byte[] U16(ushort v) { var b = new byte[2]; Put16(b, 0, v); return b; }
    private byte[] U32(uint v) { var b = new byte[4]; Put32(b, 0, v); return b; }

    private void Put16(Span<byte> s, int at, ushort v)
    {
        if (BigEndian) BinaryPrimitives.WriteUInt16BigEndian(s[at..], v); else BinaryPrimitives.WriteUInt16LittleEndian(s[at..], v);
    }

    private void Put32(Span<byte> s, int at, uint v)
    {
        if (BigEndian) BinaryPrimitives.WriteUInt32BigEndian(s[at..], v); else BinaryPrimitives.WriteUInt32LittleEndian(s[at..], v);
    }

    private void PutAddress(Span<byte> s, int at, long v)
    {
        if (!Is64) Put32(s, at, (uint)v);
        else if (BigEndian) BinaryPrimitives.WriteUInt64BigEndian(s[at..], (ulong)v);
        else BinaryPrimitives.WriteUInt64LittleEndian(s[at..], (ulong)v);
    }
}
