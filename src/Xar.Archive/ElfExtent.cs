using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Xar.Archive.Elf;
using Xar.Interop;

namespace Xar.Archive;

/// <summary>
/// The number of bytes an ELF file occupies according to its own headers: the furthest end of the
/// ELF header, the program header table, every segment's file image, the section header table and
/// every section that has file contents. In a self archive the XAR header starts at this extent
/// rounded up to 4096 (docs/xar-layout.md), the way AppImage runtimes find their image.
/// </summary>
internal static class ElfExtent
{
    private const int ClassElf32 = 1;
    private const int ClassElf64 = 2;
    private const int DataLittleEndian = 1;
    private const int DataBigEndian = 2;
    private const uint SectionTypeNoBits = 8;

    /// <summary>Reads the ELF headers of the file behind <paramref name="handle"/>.</summary>
    /// <exception cref="XarFormatException">The ELF headers are malformed or point past <paramref name="fileLength"/>.</exception>
    public static long Compute(SafeFileHandle handle, long fileLength, string filePath)
    {
        Span<byte> header = stackalloc byte[64];
        int headerBytes = RandomAccess.Read(handle, header, 0);
        if (headerBytes < 6 || !ElfMagic.Starts(header))
            throw new XarFormatException(filePath, "the launcher is not an ELF file");
        var elf = new Reader(header[4], header[5], filePath);
        if (headerBytes < (elf.Is64 ? 64 : 52))
            throw new XarFormatException(filePath, $"the launcher's ELF header is cut short ({headerBytes} bytes)");
        int headerSize = elf.Order.U16(header, elf.Is64 ? 0x34 : 0x28);
        long programTable = elf.Offset(header, elf.Is64 ? 0x20 : 0x1C);
        int programEntrySize = elf.Order.U16(header, elf.Is64 ? 0x36 : 0x2A);
        int programCount = elf.Order.U16(header, elf.Is64 ? 0x38 : 0x2C);
        long sectionTable = elf.Offset(header, elf.Is64 ? 0x28 : 0x20);
        int sectionEntrySize = elf.Order.U16(header, elf.Is64 ? 0x3A : 0x2E);
        long sectionCount = elf.Order.U16(header, elf.Is64 ? 0x3C : 0x30);
        long extent = headerSize;

        if (programCount > 0)
        {
            byte[] table = ReadTable(handle, programTable, programCount, programEntrySize, elf.Is64 ? 56 : 32, fileLength, "program header", filePath);
            extent = Math.Max(extent, programTable + table.Length);
            for (int i = 0; i < programCount; i++)
            {
                ReadOnlySpan<byte> entry = table.AsSpan(i * programEntrySize, programEntrySize);
                long offset = elf.Offset(entry, elf.Is64 ? 8 : 4);
                long size = elf.Offset(entry, elf.Is64 ? 32 : 16);
                extent = Math.Max(extent, End(offset, size, fileLength, $"segment {i}", filePath));
            }
        }

        if (sectionTable != 0)
        {
            if (sectionCount == 0)
            {
                // More than 0xff00 sections: the count is in section 0's sh_size (ELF extended numbering).
                byte[] first = ReadTable(handle, sectionTable, 1, sectionEntrySize, elf.Is64 ? 64 : 40, fileLength, "section header", filePath);
                sectionCount = elf.Offset(first, elf.Is64 ? 32 : 20);
            }
            byte[] table = ReadTable(handle, sectionTable, sectionCount, sectionEntrySize, elf.Is64 ? 64 : 40, fileLength, "section header", filePath);
            extent = Math.Max(extent, sectionTable + table.Length);
            for (int i = 0; i < sectionCount; i++)
            {
                ReadOnlySpan<byte> entry = table.AsSpan(i * sectionEntrySize, sectionEntrySize);
                if (elf.Order.U32(entry, 4) == SectionTypeNoBits)
                    continue;
                long offset = elf.Offset(entry, elf.Is64 ? 24 : 16);
                long size = elf.Offset(entry, elf.Is64 ? 32 : 20);
                extent = Math.Max(extent, End(offset, size, fileLength, $"section {i}", filePath));
            }
        }
        return extent;
    }

    private static long End(long offset, long size, long fileLength, string what, string filePath)
    {
        if (offset > fileLength || size > fileLength - offset)
            throw new XarFormatException(filePath, $"ELF {what} ({size} bytes at {offset}) extends past the end of the file ({fileLength} bytes)");
        return offset + size;
    }

    private static byte[] ReadTable(SafeFileHandle handle, long offset, long count, int entrySize, int minimumEntrySize,
        long fileLength, string what, string filePath)
    {
        if (entrySize < minimumEntrySize)
            throw new XarFormatException(filePath, $"ELF {what} entries of {entrySize} bytes are shorter than the {minimumEntrySize} the format needs");
        if (offset > fileLength || count > (fileLength - offset) / entrySize)
            throw new XarFormatException(filePath, $"ELF {what} table ({count} entries of {entrySize} bytes at {offset}) extends past the end of the file ({fileLength} bytes)");
        if (count * entrySize > Array.MaxLength)
            throw new XarFormatException(filePath, $"ELF {what} table of {count} entries is too large to read");
        int length = (int)(count * entrySize);
        byte[] table = new byte[length];
        if (RandomAccess.Read(handle, table, offset) != length)
            throw new XarFormatException(filePath, $"short read of the ELF {what} table at {offset}");
        return table;
    }

    private readonly struct Reader
    {
        public Reader(byte elfClass, byte data, string filePath)
        {
            if (elfClass is not (ClassElf32 or ClassElf64))
                throw new XarFormatException(filePath, $"the launcher has an unknown ELF class {elfClass}");
            if (data is not (DataLittleEndian or DataBigEndian))
                throw new XarFormatException(filePath, $"the launcher has an unknown ELF data encoding {data}");
            Is64 = elfClass == ClassElf64;
            Order = new ElfByteOrder(data == DataBigEndian);
        }

        public bool Is64 { get; }

        public ElfByteOrder Order { get; }

        /// <summary>An address-sized file offset or size, clamped so that absurd 64-bit values fail the bounds checks instead of overflowing.</summary>
        public long Offset(ReadOnlySpan<byte> s, int at)
        {
            ulong value = Is64 ? Order.U64(s, at) : Order.U32(s, at);
            return value > long.MaxValue ? long.MaxValue : (long)value;
        }
    }
}
