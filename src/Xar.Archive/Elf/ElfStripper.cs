using System.Buffers.Binary;
using System.Text;
using Xar.Interop;

namespace Xar.Archive.Elf;

/// <summary>
/// Drops what only a debugger or a symbolizer reads from an executable or shared object
/// (ET_EXEC, ET_DYN): the non-allocated <c>.debug_*</c> and <c>.zdebug_*</c> sections (and the
/// relocations of them), <c>.symtab</c> and its <c>.strtab</c>. Nothing the dynamic loader maps
/// or reads changes: the bytes up to the end of the last segment (program headers, every
/// allocated section, <c>.dynsym</c>, <c>.dynamic</c>) are copied as they are, and only sections
/// numbered after every allocated one are removed, so section numbers that <c>.dynsym</c> names
/// stay the same. The kept non-allocated sections (<c>.comment</c>, <c>.gnu_debuglink</c>,
/// <c>.shstrtab</c>, …) follow, then the section header table.
/// Anything this cannot do with certainty — a relocatable object, extended section numbering,
/// a removable section inside a segment or before an allocated one, a kept section linked to a
/// removed one, any offset or size outside the file — gives null: the caller copies the object
/// unchanged. Every computation on the file's fields is checked.
/// </summary>
public static class ElfStripper
{
    private const uint SectionNoBits = 8;
    private const uint SectionRela = 4;
    private const uint SectionRel = 9;
    private const ulong FlagAlloc = 0x2;
    private const ulong FlagInfoLink = 0x40;
    private const int ExtendedNumbering = 0xff00; // SHN_LORESERVE: e_shstrndx and e_shnum then live in section 0

    /// <summary>The object without its debugging sections and symbol table, or null when it has none or cannot be stripped safely.</summary>
    public static byte[]? Strip(ReadOnlySpan<byte> file)
    {
        try
        {
            return new Layout(file).Strip(file);
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException or InvalidDataException)
        {
            return null; // a field that points outside the file or overflows: copied unchanged
        }
    }

    /// <summary>Whether a section of this name is only for debuggers and symbolizers.</summary>
    private static bool IsRemovable(string name) =>
        name.StartsWith(".debug_", StringComparison.Ordinal) || name.StartsWith(".zdebug_", StringComparison.Ordinal)
        || name.StartsWith(".rela.debug_", StringComparison.Ordinal) || name.StartsWith(".rel.debug_", StringComparison.Ordinal)
        || name is ".symtab" or ".strtab";

    private readonly record struct Section(int Index, string Name, uint Type, ulong Flags, long Offset, long Size, uint Link, uint Info, long Alignment)
    {
        public bool HasFileBytes => Type != SectionNoBits && Size > 0;
    }

    private sealed class Layout
    {
        private readonly bool _is64;
        private readonly ElfByteOrder _order;

        public Layout(ReadOnlySpan<byte> file)
        {
            if (file.Length < 52 || !ElfMagic.Starts(file) || file[4] is not (1 or 2) || file[5] is not (1 or 2))
                throw new InvalidDataException();
            _is64 = file[4] == 2;
            _order = new ElfByteOrder(file[5] == 2);
        }

        private int HeaderSize => _is64 ? 64 : 52;
        private int SectionEntrySize => _is64 ? 64 : 40;

        public byte[]? Strip(ReadOnlySpan<byte> file)
        {
            if (file.Length < HeaderSize) return null;
            ushort type = _order.U16(file, 16);
            if (type is not (ElfObject.TypeExecutable or ElfObject.TypeShared)) return null;
            long programTable = Word(file, _is64 ? 0x20 : 0x1C);
            int programEntrySize = _order.U16(file, _is64 ? 0x36 : 0x2A);
            int programCount = _order.U16(file, _is64 ? 0x38 : 0x2C);
            long sectionTable = Word(file, _is64 ? 0x28 : 0x20);
            int sectionEntrySize = _order.U16(file, _is64 ? 0x3A : 0x2E);
            int sectionCount = _order.U16(file, _is64 ? 0x3C : 0x30);
            int namesIndex = _order.U16(file, _is64 ? 0x3E : 0x32);
            if (sectionTable == 0 || sectionCount == 0 || sectionEntrySize != SectionEntrySize || namesIndex >= sectionCount || namesIndex >= ExtendedNumbering)
                return null;

            // Everything up to the end of the last segment is copied as it is.
            long boundary = Math.Max(HeaderSize, End(file, programTable, checked((long)programCount * programEntrySize)));
            for (int i = 0; i < programCount; i++)
            {
                var entry = Slice(file, checked(programTable + (long)i * programEntrySize), _is64 ? 56 : 32);
                long offset = Word(entry, _is64 ? 8 : 4);
                long size = Word(entry, _is64 ? 32 : 16);
                boundary = Math.Max(boundary, End(file, offset, size));
            }
            var table = Slice(file, sectionTable, checked(sectionCount * sectionEntrySize));
            if (sectionTable < boundary) return null;

            var raw = new (uint Name, uint Type, ulong Flags, long Offset, long Size, uint Link, uint Info, long Alignment)[sectionCount];
            for (int i = 0; i < sectionCount; i++)
            {
                var s = table.Slice(i * sectionEntrySize, sectionEntrySize);
                raw[i] = _is64
                    ? (_order.U32(s, 0), _order.U32(s, 4), _order.U64(s, 8), Word(s, 24), Word(s, 32), _order.U32(s, 40), _order.U32(s, 44), Word(s, 48))
                    : (_order.U32(s, 0), _order.U32(s, 4), _order.U32(s, 8), Word(s, 16), Word(s, 20), _order.U32(s, 24), _order.U32(s, 28), Word(s, 32));
            }
            var namesSection = raw[namesIndex];
            var names = namesSection.Type == SectionNoBits ? [] : Slice(file, namesSection.Offset, namesSection.Size);
            var sections = new Section[sectionCount];
            for (int i = 0; i < sectionCount; i++)
            {
                var r = raw[i];
                sections[i] = new Section(i, i == 0 ? "" : Name(names, r.Name), r.Type, r.Flags, r.Offset, r.Size, r.Link, r.Info, r.Alignment);
            }

            int lastAllocated = sections.Where(s => (s.Flags & FlagAlloc) != 0).Select(s => s.Index).DefaultIfEmpty(0).Max();
            var removed = sections.Where(s => s.Index != 0 && s.Index != namesIndex && (s.Flags & FlagAlloc) == 0 && IsRemovable(s.Name)).Select(s => s.Index).ToHashSet();
            if (removed.Count == 0) return null;
            if (removed.Min() <= lastAllocated) return null; // would renumber sections .dynsym names
            foreach (var s in sections)
            {
                if (s.HasFileBytes)
                {
                    End(file, s.Offset, s.Size);
                    bool inside = s.Offset < boundary;
                    if (inside && (removed.Contains(s.Index) || checked(s.Offset + s.Size) > boundary))
                        return null; // part of what is mapped, or straddling its end
                }
                if (s.Link >= sectionCount || (LinksInfo(s) && s.Info >= sectionCount))
                    return null; // names a section that is not there
                if (!removed.Contains(s.Index) && (removed.Contains((int)s.Link) || (LinksInfo(s) && removed.Contains((int)s.Info))))
                    return null;
            }

            // New places of the kept sections after the boundary, in their file order.
            var kept = sections.Where(s => !removed.Contains(s.Index)).ToList();
            var newIndex = new Dictionary<int, int>();
            for (int i = 0; i < kept.Count; i++) newIndex[kept[i].Index] = i;
            var newOffset = new Dictionary<int, long>();
            long position = boundary;
            foreach (var s in kept.Where(s => s.Offset >= boundary || !s.HasFileBytes).OrderBy(s => s.Offset))
            {
                if (s.Index == 0) continue;
                if (!s.HasFileBytes)
                {
                    newOffset[s.Index] = s.Offset < boundary ? s.Offset : position;
                    continue;
                }
                long alignment = Math.Max(1, s.Alignment);
                if ((alignment & (alignment - 1)) != 0 || alignment > 1 << 16) return null;
                position = AlignUp(position, alignment);
                newOffset[s.Index] = position;
                position = checked(position + s.Size);
            }
            long newTable = AlignUp(position, _is64 ? 8 : 4);
            long length = checked(newTable + (long)kept.Count * sectionEntrySize);

            var output = new byte[length];
            file[..(int)boundary].CopyTo(output);
            foreach (var s in kept)
            {
                if (s.Index != 0 && s.HasFileBytes && s.Offset >= boundary)
                    file.Slice((int)s.Offset, (int)s.Size).CopyTo(output.AsSpan((int)newOffset[s.Index]));
            }
            for (int i = 0; i < kept.Count; i++)
            {
                var s = kept[i];
                var entry = output.AsSpan(checked((int)(newTable + (long)i * sectionEntrySize)), sectionEntrySize);
                table.Slice(s.Index * sectionEntrySize, sectionEntrySize).CopyTo(entry);
                if (newOffset.TryGetValue(s.Index, out long offset)) PutWord(entry, _is64 ? 24 : 16, offset);
                PutU32(entry, _is64 ? 40 : 24, s.Link == 0 ? 0 : (uint)newIndex[(int)s.Link]);
                if (LinksInfo(s) && s.Info != 0) PutU32(entry, _is64 ? 44 : 28, (uint)newIndex[(int)s.Info]);
            }
            PutWord(output, _is64 ? 0x28 : 0x20, newTable);
            PutU16(output, _is64 ? 0x3C : 0x30, (ushort)kept.Count);
            PutU16(output, _is64 ? 0x3E : 0x32, (ushort)newIndex[namesIndex]);
            return output;
        }

        /// <summary>Whether sh_info is a section number (relocations, SHF_INFO_LINK) rather than a count.</summary>
        private static bool LinksInfo(Section s) => s.Type is SectionRel or SectionRela || (s.Flags & FlagInfoLink) != 0;

        private static long AlignUp(long value, long alignment) => checked(value + alignment - 1) & ~(alignment - 1);

        /// <summary>offset + size, checked to lie within the file.</summary>
        private static long End(ReadOnlySpan<byte> file, long offset, long size)
        {
            long end = checked(offset + size);
            if (offset < 0 || size < 0 || end > file.Length) throw new InvalidDataException();
            return end;
        }

        private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> file, long offset, long size)
        {
            End(file, offset, size);
            return file.Slice((int)offset, (int)size);
        }

        private static string Name(ReadOnlySpan<byte> names, uint offset)
        {
            if (offset >= names.Length) throw new InvalidDataException();
            var rest = names[(int)offset..];
            int end = rest.IndexOf((byte)0);
            if (end < 0) throw new InvalidDataException();
            return Encoding.UTF8.GetString(rest[..end]);
        }

        /// <summary>An offset or size field (64 or 32 bits); one beyond what a file can hold fails the bounds checks.</summary>
        private long Word(ReadOnlySpan<byte> s, int at)
        {
            ulong value = _is64 ? _order.U64(s, at) : _order.U32(s, at);
            return value > int.MaxValue ? throw new InvalidDataException() : (long)value;
        }

        private void PutU16(Span<byte> s, int at, ushort value)
        {
            if (_order.IsBigEndian) BinaryPrimitives.WriteUInt16BigEndian(s[at..], value);
            else BinaryPrimitives.WriteUInt16LittleEndian(s[at..], value);
        }

        private void PutU32(Span<byte> s, int at, uint value)
        {
            if (_order.IsBigEndian) BinaryPrimitives.WriteUInt32BigEndian(s[at..], value);
            else BinaryPrimitives.WriteUInt32LittleEndian(s[at..], value);
        }

        private void PutWord(Span<byte> s, int at, long value)
        {
            if (!_is64) PutU32(s, at, checked((uint)value));
            else if (_order.IsBigEndian) BinaryPrimitives.WriteUInt64BigEndian(s[at..], (ulong)value);
            else BinaryPrimitives.WriteUInt64LittleEndian(s[at..], (ulong)value);
        }
    }
}
