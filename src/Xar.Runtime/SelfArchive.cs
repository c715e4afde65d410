using System.Buffers.Binary;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>
/// Whether the running executable is itself a self-layout archive (launcher ELF, then header
/// and image) rather than the bare launcher. Decided from the ELF header alone — one 64-byte
/// read — so that the bare launcher, which the kernel runs for every xarexec-layout archive,
/// pays almost nothing for the check; Xar.Archive then validates the archive in full.
/// </summary>
internal static unsafe class SelfArchive
{
    public static bool IsArchive(string executablePath)
    {
        int fd = LibC.Open(executablePath, LibC.O_RDONLY, 0, out _);
        if (fd < 0)
            return false;
        try
        {
            byte* header = stackalloc byte[64];
            if (LibC.read(fd, header, 64) != 64 || LibC.Stat(fd, out StatX stat) != 0)
                return false;
            var bytes = new ReadOnlySpan<byte>(header, 64);
            // ELFCLASS64, little-endian: the launcher is published for linux-x64 and linux-arm64 only.
            if (!bytes.StartsWith((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1]))
                return false;
            ulong sectionTable = BinaryPrimitives.ReadUInt64LittleEndian(bytes[0x28..]);
            ulong sectionEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[0x3A..]);
            ulong sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(bytes[0x3C..]);
            if (sectionTable == 0)
                return true; // No section table to tell where the ELF ends: let the archive reader judge.
            // The linker writes the section header table last; an archive continues after it.
            ulong elfEnd = sectionTable + sectionEntrySize * sectionCount;
            return stat.Size > elfEnd;
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
