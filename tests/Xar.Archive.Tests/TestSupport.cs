using System.Text;

namespace Xar.Archive.Tests;

/// <summary>One real mksquashfs image shared by the tests of a class.</summary>
public sealed class SquashFsImageFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public SquashFsImageFixture()
    {
        string source = _directory.Combine("tree");
        Directory.CreateDirectory(Path.Combine(source, "pkg"));
        File.WriteAllText(Path.Combine(source, "echo.sh"), "echo hello from the image\n");
        File.WriteAllText(Path.Combine(source, "pkg", "__init__.py"), "VALUE = 42\n");
        ImagePath = _directory.Combine("image.sqfs");
        Run.Checked("mksquashfs", [source, ImagePath, "-noappend", "-quiet", "-no-progress", "-all-root", "-mkfs-time", "0", "-all-time", "0"]);
        Image = File.ReadAllBytes(ImagePath);
    }

    public string ImagePath { get; }

    public byte[] Image { get; }

    public void Dispose() => _directory.Dispose();
}

/// <summary>Hand-made archives for the reader's rules: header text padded with '\n', then an image.</summary>
public static class RawXar
{
    public static byte[] Build(string headerText, int headerSize, byte[] image)
    {
        byte[] text = Encoding.UTF8.GetBytes(headerText);
        if (text.Length > headerSize)
            throw new ArgumentException("header text longer than the header");
        byte[] file = new byte[headerSize + image.Length];
        file.AsSpan(0, headerSize).Fill((byte)'\n');
        text.CopyTo(file, 0);
        image.CopyTo(file, headerSize);
        return file;
    }

    /// <summary>The header the original builder writes for a shell target (docs/xar-format.md §4), with <paramref name="keyLines"/> after VERSION.</summary>
    public static string OriginalHeader(string keyLines = "DEPENDENCIES=\"\"\nXAREXEC_TARGET=\"echo.sh\"\n", int offset = 4096) =>
        "#!/usr/bin/env xarexec_fuse\n" +
        $"OFFSET=\"{offset}\"\n" +
        "UUID=\"5ea3a17c\"\n" +
        "VERSION=\"1795279275\"\n" +
        keyLines +
        "#xar_stop\n" +
        "echo This XAR file should not be executed by sh\n" +
        "exit 1\n" +
        $"# Actual squashfs file begins at {offset}\n";
}

/// <summary>Stand-in launchers: a bare ELF header, or a copy of a real executable.</summary>
public static class FakeElf
{
    /// <summary>A 64-byte ELF64 little-endian header with no program or section headers: its extent is 64 bytes.</summary>
    public static byte[] MinimalElf64()
    {
        byte[] elf = new byte[64];
        elf[0] = 0x7F; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
        elf[4] = 2; // ELFCLASS64
        elf[5] = 1; // little endian
        elf[6] = 1; // EV_CURRENT
        elf[0x34] = 64; // e_ehsize
        elf[0x36] = 56; // e_phentsize
        elf[0x3A] = 64; // e_shentsize
        return elf;
    }

    /// <summary>
    /// A 52-byte ELF32 big-endian header with one program header whose segment ends at
    /// <paramref name="segmentEnd"/>, padded with zeros to that length.
    /// </summary>
    public static byte[] Elf32BigEndianWithSegment(int segmentEnd)
    {
        byte[] elf = new byte[segmentEnd];
        elf[0] = 0x7F; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
        elf[4] = 1; // ELFCLASS32
        elf[5] = 2; // big endian
        elf[6] = 1;
        elf[0x1F] = 52; // e_phoff (u32 at 0x1C)
        elf[0x29] = 52; // e_ehsize (u16 at 0x28)
        elf[0x2B] = 32; // e_phentsize (u16 at 0x2A)
        elf[0x2D] = 1;  // e_phnum (u16 at 0x2C)
        // Program header at 52: p_offset (u32 at +4) = 0, p_filesz (u32 at +16) = segmentEnd.
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(elf.AsSpan(52 + 16), (uint)segmentEnd);
        return elf;
    }
}

/// <summary>The original builder's size rule, measured on the header we format.</summary>
public static class HeaderSize
{
    /// <summary>
    /// UTF-8 bytes of the header text as the original counts it: with "$OFFSET" (twice) and
    /// "$UUID" in place of the 4-digit offset and the 8-digit UUID.
    /// </summary>
    public static int Unexpanded(XarHeaderFields fields)
    {
        byte[] header = XarHeaderText.Format(fields, 4096, fields.Uuid ?? "00000000", new string('0', 64));
        int text = header.AsSpan().TrimEnd((byte)'\n').Length + 1;
        return text - 2 * "4096".Length - "00000000".Length + 2 * "$OFFSET".Length + "$UUID".Length;
    }

    /// <summary>The longest value of an extra key <paramref name="key"/> that still fits in 4096 bytes.</summary>
    public static int LargestValue(XarHeaderFields fieldsWithoutKey, string key) =>
        4096 - 128 - Unexpanded(fieldsWithoutKey) - $"{key}=\"\"\n".Length;
}
