namespace Xar.Archive.Tests;

/// <summary>Every file the reader refuses, with its one-line message naming the file and the problem.</summary>
public sealed class RejectionTests : IClassFixture<SquashFsImageFixture>, IDisposable
{
    private readonly SquashFsImageFixture _image;
    private readonly TempDirectory _directory = new();

    public RejectionTests(SquashFsImageFixture image) => _image = image;

    public void Dispose() => _directory.Dispose();

    private string Save(byte[] bytes)
    {
        string path = _directory.Combine($"bad-{Guid.NewGuid():N}.xar");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string SaveRaw(string headerText, int headerSize = 4096) => Save(RawXar.Build(headerText, headerSize, _image.Image));

    private static void ShouldReject(string path, string problem)
    {
        Action open = () => XarArchive.Open(path).Dispose();
        var error = open.Should().Throw<XarFormatException>().Which;
        error.Message.Should().Be($"{path}: {problem}");
        error.FilePath.Should().Be(path);
        error.Problem.Should().Be(problem);
        error.Message.Should().NotContain("\n", "messages are one line");
    }

    private static string Header(string keyLines) => $"#!/usr/bin/env xarexec_fuse\n{keyLines}#xar_stop\n";

    [Fact]
    public void Missing_OFFSET() =>
        ShouldReject(SaveRaw(Header("UUID=\"5ea3a17c\"\n")), "the header has no OFFSET line");

    [Theory]
    [InlineData("4000", "OFFSET 4000 is not a positive multiple of 4096")]
    [InlineData("0", "OFFSET 0 is not a positive multiple of 4096")]
    [InlineData("abc", "OFFSET \"abc\" is not a decimal number of bytes")]
    [InlineData("-4096", "OFFSET \"-4096\" is not a decimal number of bytes")]
    [InlineData(" 4096", "OFFSET \" 4096\" is not a decimal number of bytes")]
    [InlineData("99999999999999999999", "OFFSET \"99999999999999999999\" is not a decimal number of bytes")]
    public void OFFSET_that_is_not_a_positive_multiple_of_4096(string offset, string problem) =>
        ShouldReject(SaveRaw(Header($"OFFSET=\"{offset}\"\nUUID=\"5ea3a17c\"\n")), problem);

    [Fact]
    public void OFFSET_past_the_end_of_the_file()
    {
        byte[] headerOnly = RawXar.Build(Header("OFFSET=\"8192\"\nUUID=\"5ea3a17c\"\n"), 8192, []);
        ShouldReject(Save(headerOnly), "OFFSET 8192 is at or past the end of the file (8192 bytes): there is no image");
    }

    [Fact]
    public void No_SquashFS_magic_at_OFFSET()
    {
        byte[] file = RawXar.Build(RawXar.OriginalHeader(), 4096, new byte[8192]);
        ShouldReject(Save(file), "no SquashFS magic at OFFSET 4096 (found 0x00000000, want 0x68737173 \"hsqs\")");
    }

    [Fact]
    public void Image_shorter_than_the_superblock_says()
    {
        byte[] truncated = _image.Image[..200];
        ulong bytesUsed = BitConverter.ToUInt64(_image.Image, 40);
        ShouldReject(Save(RawXar.Build(RawXar.OriginalHeader(), 4096, truncated)),
            $"SquashFS image at OFFSET 4096: superblock: bytes_used {bytesUsed} exceeds the 200 bytes available (truncated image?)");
    }

    [Fact]
    public void Image_shorter_than_a_superblock()
    {
        ShouldReject(Save(RawXar.Build(RawXar.OriginalHeader(), 4096, _image.Image[..50])),
            "SquashFS image at OFFSET 4096: image too short for a superblock (50 bytes, need 96)");
    }

    [Fact]
    public void Hash_mismatch_after_flipping_a_byte_of_the_image()
    {
        string path = _directory.Combine("flipped.xar");
        XarArchiveWriter.Write(path, new XarWriteOptions { Layout = XarLayout.Xarexec, Header = new XarHeaderFields { Version = 1 } },
            new MemoryStream(_image.Image));
        string recorded;
        using (XarArchive intact = XarArchive.Open(path))
        {
            intact.Verify().Should().Be(XarVerification.Verified);
            recorded = intact.Header.ImageSha256!;
        }
        byte[] bytes = File.ReadAllBytes(path);
        int inImage = 4096 + _image.Image.Length - 1; // in mksquashfs's padding: the superblock stays valid
        bytes[inImage] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        string actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes.AsSpan(4096)));

        using XarArchive archive = XarArchive.Open(path);
        Action verify = () => archive.Verify();

        verify.Should().Throw<XarFormatException>().WithMessage(
            $"{path}: image SHA-256 mismatch: the header records {recorded}, the {_image.Image.Length} bytes at OFFSET 4096 hash to {actual}");
    }

    [Fact]
    public void Missing_UUID() =>
        ShouldReject(SaveRaw(Header("OFFSET=\"4096\"\n")), "the header has no UUID line");

    [Theory]
    [InlineData("5ea3-17c")]
    [InlineData("")]
    [InlineData("../etc")]
    public void UUID_that_is_not_hexadecimal(string uuid) =>
        ShouldReject(SaveRaw(Header($"OFFSET=\"4096\"\nUUID=\"{uuid}\"\n")),
            $"UUID \"{uuid}\" is not hexadecimal (the original runtime names its mount directory after it)");

    [Fact]
    public void A_line_without_an_equals_sign() =>
        ShouldReject(SaveRaw(Header("OFFSET=\"4096\"\nUUID=\"5ea3a17c\"\nthis is not a key\n")),
            "header line 4 is not NAME=\"VALUE\" (no '='): this is not a key");

    [Fact]
    public void A_line_with_an_empty_name() =>
        ShouldReject(SaveRaw(Header("OFFSET=\"4096\"\n=\"x\"\nUUID=\"5ea3a17c\"\n")), "header line 3 has an empty name: =\"x\"");

    [Theory]
    [InlineData("VERSION=1", "VERSION=1")]
    [InlineData("VERSION=\"", "VERSION=\"")]
    [InlineData("VERSION='1'", "VERSION='1'")]
    [InlineData("VERSION=\"1\" # comment", "VERSION=\"1\" # comment")]
    public void A_value_not_enclosed_in_double_quotes(string line, string excerpt) =>
        ShouldReject(SaveRaw(Header($"OFFSET=\"4096\"\nUUID=\"5ea3a17c\"\n{line}\n")),
            $"header line 4: the value is not enclosed in double quotes: {excerpt}");

    [Fact]
    public void CRLF_line_endings() =>
        ShouldReject(SaveRaw("#!/usr/bin/env xarexec_fuse\r\nOFFSET=\"4096\"\r\nUUID=\"5ea3a17c\"\r\n#xar_stop\r\n"),
            "header line 2 ends with a carriage return; XAR headers use \\n line endings, not \\r\\n");

    [Fact]
    public void A_line_that_is_not_UTF8()
    {
        byte[] file = RawXar.Build(Header("OFFSET=\"4096\"\nUUID=\"5ea3a17c\"\nNAME=\"XX\"\n"), 4096, _image.Image);
        int at = Array.IndexOf(file, (byte)'X');
        file[at] = 0xFF;
        ShouldReject(Save(file), "header line 4 is not valid UTF-8");
    }

    [Fact]
    public void A_long_line_is_cut_in_the_message()
    {
        string line = new('x', 200);
        ShouldReject(SaveRaw(Header($"OFFSET=\"4096\"\n{line}\n")), $"header line 3 is not NAME=\"VALUE\" (no '='): {new string('x', 80)}…");
    }

    [Fact]
    public void A_bare_SquashFS_image() =>
        ShouldReject(Save(File.ReadAllBytes(_image.ImagePath)), "a bare SquashFS image, not a XAR: it has no header");

    [Fact]
    public void A_file_shorter_than_a_header() =>
        ShouldReject(Save(new byte[100]), "the file is 100 bytes, shorter than a 4096-byte XAR header");

    [Fact]
    public void A_header_longer_than_4096_bytes_without_xar_stop() =>
        ShouldReject(SaveRaw("#!/usr/bin/env xarexec_fuse\nOFFSET=\"8192\"\nUUID=\"5ea3a17c\"\n", 8192),
            "no #xar_stop line in the 8192-byte header (only a 4096-byte header may omit it, as the original runtime allows)");

    [Fact]
    public void OFFSET_only_after_the_first_4096_bytes()
    {
        string longLine = $"IGNORED=\"{new string('0', 5000)}\"\n";
        ShouldReject(SaveRaw($"#!/usr/bin/env xarexec_fuse\n{longLine}OFFSET=\"8192\"\nUUID=\"5ea3a17c\"\n#xar_stop\n", 8192),
            "no OFFSET line in the first 4096 bytes of the header");
    }

    [Fact]
    public void A_header_beyond_the_reader_limit_without_xar_stop_in_its_first_block()
    {
        string longLine = $"IGNORED=\"{new string('0', 5000)}\"\n";
        ShouldReject(SaveRaw($"#!/usr/bin/env xarexec_fuse\nOFFSET=\"2101248\"\nUUID=\"5ea3a17c\"\n{longLine}#xar_stop\n", 8192),
            "no #xar_stop line in the first 4096 bytes, and OFFSET 2101248 makes the header 2101248 bytes, more than the 1048576 this reader takes");
    }

    [Theory]
    [InlineData("2", "XAR_FORMAT 2 is newer than this xar reads (1); use a newer xar")]
    [InlineData("one", "XAR_FORMAT \"one\" is not a positive decimal number")]
    [InlineData("0", "XAR_FORMAT \"0\" is not a positive decimal number")]
    public void An_unreadable_XAR_FORMAT(string format, string problem) =>
        ShouldReject(SaveRaw(Header($"OFFSET=\"4096\"\nUUID=\"5ea3a17c\"\nXAR_FORMAT=\"{format}\"\n")), problem);

    [Fact]
    public void An_XAR_IMAGE_SHA256_that_is_not_64_hex_digits() =>
        ShouldReject(SaveRaw(Header("OFFSET=\"4096\"\nUUID=\"5ea3a17c\"\nXAR_IMAGE_SHA256=\"abc\"\n")),
            "XAR_IMAGE_SHA256 \"abc\" is not 64 hex digits");
}
