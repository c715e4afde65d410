using System.Buffers.Binary;
using System.Text;
using Xar.Interop;

namespace Xar.Archive.Elf;

/// <summary>
/// What the dynamic loader reads of an ELF object (ELF32 and ELF64, either byte order): its
/// class, machine and type, and from PT_DYNAMIC — found through the program headers, as ld.so
/// finds it, never the section headers, which may be stripped — DT_NEEDED, DT_SONAME,
/// DT_RPATH, DT_RUNPATH and the versions it needs (DT_VERNEED, the .gnu.version_r records).
/// Every offset and size is checked against the file before it is used, and nothing larger than
/// the file (or <see cref="TableLimit"/>) is allocated: a hostile file gives one
/// <see cref="ElfFormatException"/> naming it.
/// </summary>
public sealed class ElfObject
{
    public const ushort MachineX86 = 3;
    public const ushort MachineArm = 40;
    public const ushort MachineX86_64 = 62;
    public const ushort MachineAArch64 = 183;

    public const ushort TypeExecutable = 2;
    public const ushort TypeShared = 3;

    /// <summary>The largest dynamic section, string table or version table read (real ones are kilobytes).</summary>
    internal const int TableLimit = 64 << 20;

    private const uint SegmentLoad = 1;
    private const uint SegmentDynamic = 2;
    private const uint SegmentInterpreter = 3;
    private const long TagNull = 0;
    private const long TagNeeded = 1;
    private const long TagStringTable = 5;
    private const long TagStringTableSize = 10;
    private const long TagSoname = 14;
    private const long TagRpath = 15;
    private const long TagRunpath = 29;
    private const long TagVersionNeeded = 0x6ffffffe;
    private const long TagVersionNeededCount = 0x6fffffff;

    private ElfObject(string path) => Path = path;

    /// <summary>The file as the caller named it (in messages).</summary>
    public string Path { get; }

    public bool Is64 { get; private init; }
    public bool IsBigEndian { get; private init; }

    /// <summary>e_machine: <see cref="MachineX86_64"/>, <see cref="MachineAArch64"/>, …</summary>
    public ushort Machine { get; private init; }

    /// <summary>e_type: <see cref="TypeExecutable"/>, <see cref="TypeShared"/> (also PIE executables), …</summary>
    public ushort Type { get; private init; }

    /// <summary>PT_INTERP: the dynamic loader an executable names, or null.</summary>
    public string? Interpreter { get; private set; }

    /// <summary>Whether the object has a PT_DYNAMIC segment (a static executable has none).</summary>
    public bool IsDynamic { get; private set; }

    public IReadOnlyList<string> Needed { get; private set; } = [];
    public string? Soname { get; private set; }

    /// <summary>DT_RPATH as written (colon-separated, with $ORIGIN and the like unexpanded).</summary>
    public string? Rpath { get; private set; }

    /// <summary>DT_RUNPATH as written.</summary>
    public string? Runpath { get; private set; }

    /// <summary>For each library named in DT_VERNEED, the version names needed from it (GLIBC_2.34, …).</summary>
    public IReadOnlyList<(string File, IReadOnlyList<string> Versions)> VersionsNeeded { get; private set; } = [];

    /// <summary>Where the fields <see cref="ElfSearchPaths"/> rewrites are in the file; null when the object has no DT_RPATH or DT_RUNPATH.</summary>
    internal DynamicLayout? Dynamic { get; private set; }

    /// <param name="TableOffset">The file offset of PT_DYNAMIC.</param>
    /// <param name="EntryCount">Its entries up to and with DT_NULL (all of them without one).</param>
    /// <param name="StringsOffset">The file offset of DT_STRTAB.</param>
    /// <param name="Paths">Each DT_RPATH and DT_RUNPATH: its entry's number, its tag and its string's index.</param>
    /// <param name="OtherStrings">The string indexes every other name read uses (DT_NEEDED, DT_SONAME, DT_VERNEED's).</param>
    internal sealed record DynamicLayout(long TableOffset, int EntryCount, long StringsOffset,
        IReadOnlyList<(int Entry, long Tag, long StringIndex)> Paths, IReadOnlyList<long> OtherStrings);

    /// <summary>A short name of the machine for messages: x86-64, aarch64, or "machine N".</summary>
    public string MachineName => NameOf(Machine);

    public static string NameOf(ushort machine) => machine switch
    {
        MachineX86 => "i386",
        MachineArm => "arm",
        MachineX86_64 => "x86-64",
        MachineAArch64 => "aarch64",
        21 => "ppc64",
        22 => "s390",
        243 => "riscv",
        _ => $"machine {machine}",
    };

    /// <summary>Whether the file at <paramref name="path"/> starts with the ELF magic (false when it cannot be read).</summary>
    public static bool IsElf(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> magic = stackalloc byte[4];
            return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && ElfMagic.Starts(magic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static ElfObject Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.RandomAccess);
        return Read(stream, path);
    }

    /// <summary>Reads the object in <paramref name="stream"/>; one that cannot seek is read into memory first.</summary>
    /// <param name="path">The name to give in messages.</param>
    /// <exception cref="ElfFormatException">Not an ELF file, or its headers are malformed or point outside it.</exception>
    public static ElfObject Read(Stream stream, string path)
    {
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        return new Parser(stream, path).Parse();
    }

    private sealed class Parser(Stream stream, string path)
    {
        private readonly long _length = stream.Length;
        private bool _is64;
        private ElfByteOrder _order;

        public ElfObject Parse()
        {
            byte[] header = ReadAt(0, Math.Min(64, _length), "ELF header");
            if (!ElfMagic.Starts(header))
                throw Bad("not an ELF file");
            if (header.Length < 6)
                throw Bad($"the ELF header is cut short ({header.Length} bytes)");
            if (header[4] is not (1 or 2))
                throw Bad($"unknown ELF class {header[4]}");
            if (header[5] is not (1 or 2))
                throw Bad($"unknown ELF data encoding {header[5]}");
            _is64 = header[4] == 2;
            _order = new ElfByteOrder(header[5] == 2);
            if (header.Length < (_is64 ? 64 : 52))
                throw Bad($"the ELF header is cut short ({header.Length} bytes)");

            var elf = new ElfObject(path)
            {
                Is64 = _is64,
                IsBigEndian = _order.IsBigEndian,
                Type = _order.U16(header, 16),
                Machine = _order.U16(header, 18),
            };
            long programTable = Address(header, _is64 ? 0x20 : 0x1C);
            int entrySize = _order.U16(header, _is64 ? 0x36 : 0x2A);
            int count = _order.U16(header, _is64 ? 0x38 : 0x2C);
            if (count == 0)
                return elf;
            int minimum = _is64 ? 56 : 32;
            if (entrySize < minimum)
                throw Bad($"program header entries of {entrySize} bytes are shorter than the {minimum} the format needs");
            byte[] table = ReadAt(programTable, (long)count * entrySize, "program header table");

            var loads = new List<(long Address, long Offset, long Size)>();
            (long Offset, long Size)? dynamic = null;
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> entry = table.AsSpan(i * entrySize, entrySize);
                uint type = _order.U32(entry, 0);
                long offset = Address(entry, _is64 ? 8 : 4);
                long address = Address(entry, _is64 ? 16 : 8);
                long fileSize = Address(entry, _is64 ? 32 : 16);
                if (type == SegmentLoad)
                    loads.Add((address, offset, fileSize));
                else if (type == SegmentDynamic)
                    dynamic = (offset, fileSize);
                else if (type == SegmentInterpreter)
                    elf.Interpreter = CString(ReadAt(offset, Math.Min(fileSize, 4096), "PT_INTERP"), 0, "PT_INTERP");
            }
            if (dynamic is null)
                return elf;
            elf.IsDynamic = true;
            ReadDynamic(elf, dynamic.Value.Offset, dynamic.Value.Size, loads);
            return elf;
        }

        private void ReadDynamic(ElfObject elf, long offset, long size, List<(long Address, long Offset, long Size)> loads)
        {
            int entrySize = _is64 ? 16 : 8;
            byte[] table = ReadAt(offset, Math.Min(size, TableLimit) / entrySize * entrySize, "PT_DYNAMIC");
            var needed = new List<long>();
            var paths = new List<(int Entry, long Tag, long StringIndex)>();
            long? strings = null, stringsSize = null, soname = null, rpath = null, runpath = null, verneed = null, verneedCount = null;
            int entryCount = table.Length / entrySize;
            for (int at = 0; at + entrySize <= table.Length; at += entrySize)
            {
                long tag = _is64 ? (long)_order.U64(table, at) : (int)_order.U32(table, at);
                long value = Address(table, at + entrySize / 2);
                if (tag == TagNull)
                {
                    entryCount = at / entrySize + 1;
                    break;
                }
                switch (tag)
                {
                    case TagNeeded: needed.Add(value); break;
                    case TagStringTable: strings = value; break;
                    case TagStringTableSize: stringsSize = value; break;
                    case TagSoname: soname = value; break;
                    case TagRpath: rpath = value; paths.Add((at / entrySize, tag, value)); break;
                    case TagRunpath: runpath = value; paths.Add((at / entrySize, tag, value)); break;
                    case TagVersionNeeded: verneed = value; break;
                    case TagVersionNeededCount: verneedCount = value; break;
                }
            }
            if (needed.Count == 0 && soname is null && rpath is null && runpath is null && verneed is null)
                return;
            if (strings is null)
                throw Bad("PT_DYNAMIC has names but no DT_STRTAB");
            (long stringsOffset, long available) = FileOffset(strings.Value, loads, "DT_STRTAB");
            long length = Math.Min(stringsSize ?? available, available);
            if (length > TableLimit)
                throw Bad($"DT_STRSZ {length} is larger than the {TableLimit} bytes this reader accepts");
            byte[] table2 = ReadAt(stringsOffset, length, "DT_STRTAB");
            var otherStrings = new List<long>();
            string PathName(long index, string what) =>
                index < 0 || index >= table2.Length ? throw Bad($"{what} names string {index}, outside DT_STRTAB ({table2.Length} bytes)") : CString(table2, (int)index, what);
            string Name(long index, string what)
            {
                otherStrings.Add(index);
                return PathName(index, what);
            }

            elf.Needed = needed.Select(n => Name(n, "DT_NEEDED")).ToList();
            elf.Soname = soname is null ? null : Name(soname.Value, "DT_SONAME");
            // Only the last of each counts for ld.so (and here), but every one is rewritten.
            foreach (var (_, tag, index) in paths)
                _ = PathName(index, tag == TagRpath ? "DT_RPATH" : "DT_RUNPATH");
            elf.Rpath = rpath is null ? null : PathName(rpath.Value, "DT_RPATH");
            elf.Runpath = runpath is null ? null : PathName(runpath.Value, "DT_RUNPATH");
            if (verneed is not null)
                elf.VersionsNeeded = ReadVersionsNeeded(verneed.Value, verneedCount ?? 0, loads, Name);
            if (paths.Count > 0)
                elf.Dynamic = new DynamicLayout(offset, entryCount, stringsOffset, paths, otherStrings);
        }

        /// <summary>The Elf_Verneed chain (same layout in ELF32 and ELF64) and each one's Elf_Vernaux chain.</summary>
        private List<(string, IReadOnlyList<string>)> ReadVersionsNeeded(long address, long count, List<(long Address, long Offset, long Size)> loads,
            Func<long, string, string> name)
        {
            (long offset, long available) = FileOffset(address, loads, "DT_VERNEED");
            byte[] table = ReadAt(offset, Math.Min(available, TableLimit), "DT_VERNEED");
            var result = new List<(string, IReadOnlyList<string>)>();
            long at = 0;
            // Each record moves forward by a non-zero vn_next, so the table's size bounds the walk.
            for (long i = 0; i < count; i++)
            {
                if (at < 0 || at + 16 > table.Length)
                    throw Bad($"DT_VERNEED record {i} at {at} is outside its segment ({table.Length} bytes)");
                int record = (int)at;
                int auxiliaryCount = _order.U16(table, record + 2);
                string file = name(_order.U32(table, record + 4), "DT_VERNEED file");
                var versions = new List<string>(auxiliaryCount);
                long aux = record + (long)_order.U32(table, record + 8);
                for (int j = 0; j < auxiliaryCount; j++)
                {
                    if (aux + 16 > table.Length)
                        throw Bad($"DT_VERNEED auxiliary record {j} of {file} at {aux} is outside its segment ({table.Length} bytes)");
                    versions.Add(name(_order.U32(table, (int)aux + 8), "DT_VERNEED version"));
                    uint next = _order.U32(table, (int)aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                result.Add((file, versions));
                uint nextRecord = _order.U32(table, record + 12);
                if (nextRecord == 0) break;
                at += nextRecord;
            }
            return result;
        }

        /// <summary>Where a virtual address is in the file (through the PT_LOAD that maps it) and how many of its segment's bytes follow it.</summary>
        private (long Offset, long Available) FileOffset(long address, List<(long Address, long Offset, long Size)> loads, string what)
        {
            foreach (var (start, offset, size) in loads)
            {
                if (address >= start && address - start < size)
                {
                    long at = offset + (address - start);
                    if (offset > _length || at > _length)
                        throw Bad($"{what} (address 0x{address:x}) is at offset {at}, past the end of the file ({_length} bytes)");
                    return (at, Math.Min(size - (address - start), _length - at));
                }
            }
            throw Bad($"{what} (address 0x{address:x}) is in no PT_LOAD segment");
        }

        private byte[] ReadAt(long offset, long count, string what)
        {
            if (offset < 0 || count < 0 || offset > _length || count > _length - offset)
                throw Bad($"{what} ({count} bytes at {offset}) extends past the end of the file ({_length} bytes)");
            var buffer = new byte[count];
            stream.Position = offset;
            stream.ReadExactly(buffer);
            return buffer;
        }

        private string CString(byte[] table, int start, string what)
        {
            int end = Array.IndexOf(table, (byte)0, start);
            if (end < 0)
                throw Bad($"{what} string at {start} has no terminating NUL");
            return Encoding.UTF8.GetString(table, start, end - start);
        }

        private ElfFormatException Bad(string problem) => new(path, problem);

        /// <summary>An address-sized value, clamped so that absurd 64-bit values fail the bounds checks instead of overflowing.</summary>
        private long Address(ReadOnlySpan<byte> s, int at)
        {
            ulong value = _is64 ? _order.U64(s, at) : _order.U32(s, at);
            return value > long.MaxValue ? long.MaxValue : (long)value;
        }
    }
}
