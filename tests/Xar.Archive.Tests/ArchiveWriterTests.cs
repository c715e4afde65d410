using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Xar.Archive.Tests;

public sealed class ArchiveWriterTests : IClassFixture<SquashFsImageFixture>, IDisposable
{
    private readonly SquashFsImageFixture _image;
    private readonly TempDirectory _directory = new();

    public ArchiveWriterTests(SquashFsImageFixture image) => _image = image;

    public void Dispose() => _directory.Dispose();

    private static XarWriteOptions Xarexec(XarHeaderFields fields) => new() { Layout = XarLayout.Xarexec, Header = fields };

    private string ImageSha256 => Convert.ToHexStringLower(SHA256.HashData(_image.Image));

    [Fact]
    public void Round_trip_of_every_field()
    {
        string path = _directory.Combine("round.xar");
        var fields = new XarHeaderFields
        {
            Shebang = "#!/usr/local/bin/xarexec_fuse",
            Uuid = "00c0ffee",
            Version = 1712345678,
            Dependencies = ["a.xar"],
            MountRoot = "/var/xarfuse",
            XarexecTarget = "bin/run.sh",
            Extra = { [XarHeaderKeys.RequiresPython] = ">=3.11", ["BUILD_HOST"] = "ci-7 (ünïcode)" },
        };

        XarWriteResult written = XarArchiveWriter.Write(path, Xarexec(fields), new MemoryStream(_image.Image));
        using XarArchive archive = XarArchive.Open(path);

        written.Should().Be(new XarWriteResult(path, XarLayout.Xarexec, 0, 4096, _image.Image.Length, ImageSha256, "00c0ffee"));
        archive.Layout.Should().Be(XarLayout.Xarexec);
        archive.ImageOffset.Should().Be(4096);
        archive.ImageLength.Should().Be(_image.Image.Length);
        XarHeader header = archive.Header;
        header.Shebang.Should().Be("#!/usr/local/bin/xarexec_fuse");
        header.Uuid.Should().Be("00c0ffee");
        header.Version.Should().Be("1712345678");
        header.Dependencies.Should().Equal("a.xar");
        header.MountRoot.Should().Be("/var/xarfuse");
        header.XarexecTarget.Should().Be("bin/run.sh");
        header.Format.Should().Be(XarHeader.SupportedFormat);
        header.ImageSha256.Should().Be(ImageSha256);
        header[XarHeaderKeys.RequiresPython].Should().Be(">=3.11");
        header["BUILD_HOST"].Should().Be("ci-7 (ünïcode)");
        header.Entries.Select(entry => entry.Key).Should().Equal(
            "OFFSET", "UUID", "VERSION", "DEPENDENCIES", "MOUNT_ROOT", "XAREXEC_TARGET", "XAR_FORMAT", "XAR_IMAGE_SHA256",
            "XAR_REQUIRES_PYTHON", "BUILD_HOST");
        archive.Verify().Should().Be(XarVerification.Verified);
    }

    [Fact]
    public void The_image_region_hands_the_SquashFS_reader_the_image_bytes()
    {
        string path = _directory.Combine("region.xar");
        XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 1 }), new MemoryStream(_image.Image));
        using XarArchive archive = XarArchive.Open(path);

        XarImageRegion region = archive.Image;
        byte[] image = new byte[region.Length];
        RandomAccess.Read(region.Handle, image, region.Offset);

        region.Offset.Should().Be(4096);
        image.Should().Equal(_image.Image);
        archive.Superblock.BytesUsed.Should().Be(BitConverter.ToUInt64(_image.Image, 40));
    }

    [Fact]
    public void A_callback_that_seeks_back_to_write_the_superblock_last_still_gets_the_right_hash()
    {
        string path = _directory.Combine("seek.xar");
        XarWriteResult written = XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 1 }), image =>
        {
            image.Position.Should().Be(0, "the stream starts at the image's first byte");
            image.Write(new byte[96]);
            image.Write(_image.Image.AsSpan(96));
            image.Seek(0, SeekOrigin.Begin);
            image.Write(_image.Image.AsSpan(0, 96));
        });

        written.ImageSha256.Should().Be(ImageSha256);
        using XarArchive archive = XarArchive.Open(path);
        archive.Verify().Should().Be(XarVerification.Verified);
    }

    [Fact]
    public void A_callback_may_dispose_the_image_stream_it_was_given()
    {
        string path = _directory.Combine("disposed.xar");
        XarWriteResult written = XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 1 }), image =>
        {
            using var writer = new BinaryWriter(image);
            writer.Write(_image.Image);
        });

        written.ImageSha256.Should().Be(ImageSha256);
        using XarArchive archive = XarArchive.Open(path);
        archive.Verify().Should().Be(XarVerification.Verified);
    }

    [Fact]
    public void Writes_in_small_appends_hash_as_they_go()
    {
        string path = _directory.Combine("small.xar");
        XarWriteResult written = XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 1 }), image =>
        {
            foreach (byte b in _image.Image)
                image.WriteByte(b);
        });

        written.ImageSha256.Should().Be(ImageSha256);
        File.ReadAllBytes(path).AsSpan(4096).ToArray().Should().Equal(_image.Image);
    }

    [Fact]
    public void The_archive_is_executable_0755_by_default_and_takes_another_mode_on_request()
    {
        string executable = _directory.Combine("exec.xar");
        string plain = _directory.Combine("plain.xar");
        XarArchiveWriter.Write(executable, Xarexec(new XarHeaderFields { Version = 1 }), new MemoryStream(_image.Image));
        XarArchiveWriter.Write(plain, new XarWriteOptions
        {
            Layout = XarLayout.Xarexec,
            Header = new XarHeaderFields { Shebang = XarHeaderFields.NonExecutableShebang, Version = 1 },
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }, new MemoryStream(_image.Image));

        File.GetUnixFileMode(executable).Should().Be((UnixFileMode)0b111_101_101);
        File.GetUnixFileMode(plain).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [Fact]
    public void An_existing_destination_is_replaced_whole_and_no_temporary_file_is_left()
    {
        string path = _directory.Combine("replace.xar");
        File.WriteAllText(path, "old contents");

        XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 2 }), new MemoryStream(_image.Image));

        using (XarArchive archive = XarArchive.Open(path))
            archive.Header.Version.Should().Be("2");
        Directory.GetFiles(_directory.Path).Should().Equal(path);
    }

    [Fact]
    public void A_failing_image_callback_leaves_the_destination_untouched_and_removes_the_temporary_file()
    {
        string path = _directory.Combine("keep.xar");
        File.WriteAllText(path, "previous archive");

        Action write = () => XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 1 }), image =>
        {
            image.Write(_image.Image.AsSpan(0, 1000));
            throw new InvalidOperationException("mksquashfs died");
        });

        write.Should().Throw<InvalidOperationException>().WithMessage("mksquashfs died");
        File.ReadAllText(path).Should().Be("previous archive");
        Directory.GetFiles(_directory.Path).Should().Equal(path);
    }

    [Fact]
    public void An_image_that_is_not_SquashFS_is_refused()
    {
        string path = _directory.Combine("garbage.xar");

        Action write = () => XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 1 }), new MemoryStream(new byte[4096]));

        write.Should().Throw<XarFormatException>()
            .WithMessage($"{path}: the image written is not a SquashFS image (4096 bytes): no SquashFS magic (found 0x00000000, want 0x73717368 \"hsqs\")");
        Directory.GetFiles(_directory.Path).Should().BeEmpty();
    }

    [Fact]
    public void A_header_that_overflows_4096_bytes_is_refused_before_anything_is_written()
    {
        string path = _directory.Combine("overflow.xar");
        bool imageWritten = false;
        var fields = new XarHeaderFields { Version = 1, Extra = { ["BIG"] = new string('x', 4000) } };

        Action write = () => XarArchiveWriter.Write(path, Xarexec(fields), _ => imageWritten = true);

        write.Should().Throw<ArgumentException>().WithMessage("the header needs * bytes; it must stay within 3968 (the original builder's 128-byte slack inside 4096) so that the original xarexec_fuse, which reads only the first 4096 bytes, can run the archive");
        imageWritten.Should().BeFalse();
        Directory.GetFiles(_directory.Path).Should().BeEmpty();
    }

    [Fact]
    public void The_size_limit_is_the_original_builders_3968_bytes_of_unexpanded_text()
    {
        var withoutBig = new XarHeaderFields { Version = 1, Uuid = "00000000" };
        int largestValue = HeaderSize.LargestValue(withoutBig, "BIG");
        var fits = new XarHeaderFields { Version = 1, Uuid = "00000000", Extra = { ["BIG"] = new string('x', largestValue) } };
        var overflows = new XarHeaderFields { Version = 1, Uuid = "00000000", Extra = { ["BIG"] = new string('x', largestValue + 1) } };

        HeaderSize.Unexpanded(fits).Should().Be(3968);
        Encoding.UTF8.GetString(HeaderBytes(fits)).Should().Contain("# Actual squashfs file begins at 4096\n");
        Action tooBig = () => HeaderBytes(overflows);
        tooBig.Should().Throw<ArgumentException>().WithMessage("the header needs 3969 bytes*");
    }

    [Fact]
    public void Non_ASCII_values_are_counted_in_bytes_not_characters()
    {
        int roomInBytes = HeaderSize.LargestValue(new XarHeaderFields { Version = 1, Uuid = "00000000" }, "BIG");
        string twoBytesEach = new('é', roomInBytes / 2 + 1);

        Action write = () => HeaderBytes(new XarHeaderFields { Version = 1, Uuid = "00000000", Extra = { ["BIG"] = twoBytesEach } });

        twoBytesEach.Length.Should().BeLessThan(roomInBytes, "counted in characters it would fit");
        write.Should().Throw<ArgumentException>();
    }

    private static byte[] HeaderBytes(XarHeaderFields fields) => XarHeaderText.Format(fields, 4096, fields.Uuid ?? "00000000", new string('0', 64));

    [Theory]
    [InlineData("a\"b", "value of NOTE contains '\"' at index 1; header values must not contain control characters, '\"', '$', '`' or '\\'")]
    [InlineData("line\nbreak", "value of NOTE contains control character U+000A at index 4; header values must not contain control characters, '\"', '$', '`' or '\\'")]
    [InlineData("$(rm -rf /)", "value of NOTE contains '$' at index 0; header values must not contain control characters, '\"', '$', '`' or '\\'")]
    [InlineData("`id`", "value of NOTE contains '`' at index 0; header values must not contain control characters, '\"', '$', '`' or '\\'")]
    [InlineData("C:\\x", "value of NOTE contains '\\' at index 2; header values must not contain control characters, '\"', '$', '`' or '\\'")]
    public void Values_the_original_readers_or_sh_would_misread_are_refused(string value, string problem)
    {
        var fields = new XarHeaderFields { Version = 1, Extra = { ["NOTE"] = value } };

        fields.Invoking(f => f.Validate()).Should().Throw<ArgumentException>().WithMessage($"{problem}*");
    }

    public static TheoryData<XarHeaderFields, string> InvalidFields => new()
    {
        { new XarHeaderFields { Version = 1, Shebang = "/usr/bin/env xarexec_fuse" }, "shebang \"/usr/bin/env xarexec_fuse\" does not start with #!" },
        { new XarHeaderFields { Version = 1, Shebang = "#!" + new string('x', 127) }, "shebang is longer than the 128 bytes Linux reads of a #! line" },
        { new XarHeaderFields { Version = 1, Uuid = "5EA3A17C" }, "UUID \"5EA3A17C\" is not 8 lowercase hex digits, the format the original builder writes" },
        { new XarHeaderFields { Version = 1, Uuid = "5ea3a17c0" }, "UUID \"5ea3a17c0\" is not 8 lowercase hex digits, the format the original builder writes" },
        { new XarHeaderFields { Version = -1 }, "VERSION -1 is negative" },
        { new XarHeaderFields { Version = 1, Dependencies = ["a b.xar"] }, "DEPENDENCIES entry \"a b.xar\" is not a file basename (empty, or contains a space or '/')" },
        { new XarHeaderFields { Version = 1, Dependencies = ["dir/a.xar"] }, "DEPENDENCIES entry \"dir/a.xar\" is not a file basename (empty, or contains a space or '/')" },
        { new XarHeaderFields { Version = 1, MountRoot = "mnt/xarfuse" }, "MOUNT_ROOT \"mnt/xarfuse\" is not an absolute path" },
        { new XarHeaderFields { Version = 1, XarexecTarget = "../../bin/sh" }, "XAREXEC_TARGET \"../../bin/sh\" is not a path inside the image (empty, absolute, or with a '..' segment)" },
        { new XarHeaderFields { Version = 1, XarexecTarget = "/bin/sh" }, "XAREXEC_TARGET \"/bin/sh\" is not a path inside the image (empty, absolute, or with a '..' segment)" },
        { new XarHeaderFields { Version = 1, Target = "a/../../x" }, "XAR_TARGET \"a/../../x\" is not a path inside the image (empty, absolute, or with a '..' segment)" },
        { new XarHeaderFields { Version = 1, Extra = { ["XAR_TARGET"] = "x" } }, "extra key XAR_TARGET is written by the archive writer itself" },
        { new XarHeaderFields { Version = 1, Extra = { ["UUID"] = "abc" } }, "extra key UUID is written by the archive writer itself" },
        { new XarHeaderFields { Version = 1, Extra = { ["XAR_IMAGE_SHA256"] = "abc" } }, "extra key XAR_IMAGE_SHA256 is written by the archive writer itself" },
        { new XarHeaderFields { Version = 1, Extra = { ["BAD-KEY"] = "x" } }, "header key \"BAD-KEY\" is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)" },
        { new XarHeaderFields { Version = 1, Extra = { ["9LIVES"] = "x" } }, "header key \"9LIVES\" is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)" },
        { new XarHeaderFields { Version = 1, Extra = { ["XAREXEC_TRAMPOLINE_NAMES"] = "'main'" } }, "XAREXEC_TRAMPOLINE_NAMES must include 'invoke_xar_via_trampoline'" },
        { new XarHeaderFields { Version = 1, Extra = { ["XAREXEC_TRAMPOLINE_NAMES"] = "'main'  'invoke_xar_via_trampoline'" } }, "XAREXEC_TRAMPOLINE_NAMES: names must be separated by exactly one space and contain no quotes" },
        { new XarHeaderFields { Version = 1, Extra = { ["XAREXEC_TRAMPOLINE_NAMES"] = "main" } }, "XAREXEC_TRAMPOLINE_NAMES must be single-quoted names separated by one space" },
    };

    [Theory]
    [MemberData(nameof(InvalidFields))]
    public void Invalid_fields_are_refused_with_the_field_named(XarHeaderFields fields, string problem)
    {
        fields.Invoking(f => f.Validate()).Should().Throw<ArgumentException>().WithMessage($"{problem} (Parameter '*')");
    }

    [Fact]
    public void Trampoline_names_in_the_XarParser_format_are_written()
    {
        string path = _directory.Combine("tramp.xar");
        var fields = new XarHeaderFields { Version = 1, Extra = { [XarHeaderKeys.XarexecTrampolineNames] = "'main' 'invoke_xar_via_trampoline'" } };

        XarArchiveWriter.Write(path, Xarexec(fields), new MemoryStream(_image.Image));

        using XarArchive archive = XarArchive.Open(path);
        archive.Header[XarHeaderKeys.XarexecTrampolineNames].Should().Be("'main' 'invoke_xar_via_trampoline'");
    }

    [Fact]
    public void Layout_and_launcher_must_agree()
    {
        string path = _directory.Combine("layout.xar");
        var fields = new XarHeaderFields { Version = 1 };

        Action selfWithoutLauncher = () => XarArchiveWriter.Write(path, new XarWriteOptions { Header = fields }, new MemoryStream(_image.Image));
        Action xarexecWithLauncher = () => XarArchiveWriter.Write(path,
            new XarWriteOptions { Layout = XarLayout.Xarexec, Header = fields, Launcher = new MemoryStream(FakeElf.MinimalElf64()) },
            new MemoryStream(_image.Image));

        selfWithoutLauncher.Should().Throw<ArgumentException>().WithMessage("the self layout needs a launcher executable*");
        xarexecWithLauncher.Should().Throw<ArgumentException>().WithMessage("the xarexec layout starts with the header; it has no launcher*");
        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public void Reading_keeps_the_file_open_only_while_the_archive_is()
    {
        string path = _directory.Combine("handle.xar");
        XarArchiveWriter.Write(path, Xarexec(new XarHeaderFields { Version = 1 }), new MemoryStream(_image.Image));

        SafeFileHandle handle;
        using (XarArchive archive = XarArchive.Open(path))
            handle = archive.Image.Handle;

        handle.IsClosed.Should().BeTrue();
    }
}
