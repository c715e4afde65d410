using System.Text;

namespace Xar.Archive.Tests;

/// <summary>The self layout: launcher ELF, header at its extent rounded up to 4096, image at OFFSET.</summary>
public sealed class SelfLayoutTests : IClassFixture<SquashFsImageFixture>, IDisposable
{
    private readonly SquashFsImageFixture _image;
    private readonly TempDirectory _directory = new();

    public SelfLayoutTests(SquashFsImageFixture image) => _image = image;

    public void Dispose() => _directory.Dispose();

    private XarWriteResult WriteSelf(string path, byte[] launcher, XarHeaderFields? fields = null) =>
        XarArchiveWriter.Write(path,
            new XarWriteOptions { Header = fields ?? new XarHeaderFields { Version = 1, XarexecTarget = "echo.sh" }, Launcher = new MemoryStream(launcher) },
            new MemoryStream(_image.Image));

    [Fact]
    public void A_real_executable_as_launcher_is_read_back_and_still_runs()
    {
        byte[] launcher = File.ReadAllBytes("/bin/true");
        string path = _directory.Combine("true.xar");
        long headerOffset = (launcher.Length + 4095) / 4096 * 4096;

        XarWriteResult written = WriteSelf(path, launcher);

        written.Layout.Should().Be(XarLayout.Self);
        written.HeaderOffset.Should().Be(headerOffset);
        written.ImageOffset.Should().Be(headerOffset + 4096);
        byte[] file = File.ReadAllBytes(path);
        file.AsSpan(0, launcher.Length).ToArray().Should().Equal(launcher);
        file.AsSpan(launcher.Length, (int)(headerOffset - launcher.Length)).ToArray().Should().OnlyContain(b => b == 0);
        file.AsSpan((int)written.ImageOffset).ToArray().Should().Equal(_image.Image);

        using XarArchive archive = XarArchive.Open(path);
        archive.Layout.Should().Be(XarLayout.Self);
        archive.HeaderOffset.Should().Be(headerOffset);
        archive.ImageOffset.Should().Be(headerOffset + 4096, "OFFSET counts from the start of the file");
        archive.ImageLength.Should().Be(_image.Image.Length);
        archive.Header.XarexecTarget.Should().Be("echo.sh");
        archive.Verify().Should().Be(XarVerification.Verified);

        Run.Program(path, []).ExitCode.Should().Be(0, "the file is still /bin/true to the kernel");
    }

    [Fact]
    public void The_header_of_a_self_archive_is_the_original_header_with_OFFSET_counted_from_the_file_start()
    {
        string path = _directory.Combine("text.xar");
        XarWriteResult written = WriteSelf(path, FakeElf.MinimalElf64(), new XarHeaderFields { Uuid = "5ea3a17c", Version = 1795279275, XarexecTarget = "echo.sh" });

        string header = Encoding.UTF8.GetString(File.ReadAllBytes(path), 4096, 4096);

        written.HeaderOffset.Should().Be(4096);
        header.Should().StartWith(
            "#!/usr/bin/env xarexec_fuse\nOFFSET=\"8192\"\nUUID=\"5ea3a17c\"\nVERSION=\"1795279275\"\nDEPENDENCIES=\"\"\nXAREXEC_TARGET=\"echo.sh\"\nXAR_FORMAT=\"1\"\n");
        header.TrimEnd('\n').Should().EndWith("#xar_stop\necho This XAR file should not be executed by sh\nexit 1\n# Actual squashfs file begins at 8192");
    }

    [Fact]
    public void Unsquashfs_lists_a_self_archive_with_the_OFFSET_of_its_header()
    {
        string path = _directory.Combine("list.xar");
        XarWriteResult written = WriteSelf(path, File.ReadAllBytes("/bin/true"));

        var (exitCode, stdout, stderr) = Run.Program("unsquashfs", ["-offset", written.ImageOffset.ToString(), "-ls", path]);

        exitCode.Should().Be(0, stderr);
        stdout.Should().Contain("squashfs-root/echo.sh");
    }

    [Fact]
    public void A_big_endian_32_bit_launcher_whose_segment_sets_the_extent_is_read_back()
    {
        string path = _directory.Combine("elf32.xar");
        byte[] launcher = FakeElf.Elf32BigEndianWithSegment(5000);

        XarWriteResult written = WriteSelf(path, launcher);

        written.HeaderOffset.Should().Be(8192);
        using XarArchive archive = XarArchive.Open(path);
        archive.HeaderOffset.Should().Be(8192);
        archive.ImageOffset.Should().Be(12288);
    }

    [Fact]
    public void The_ELF_extent_of_a_real_executable_is_its_length()
    {
        string path = "/bin/true";
        using var handle = File.OpenHandle(path);

        ElfExtent.Compute(handle, RandomAccess.GetLength(handle), path).Should().Be(new FileInfo(path).Length);
    }

    [Fact]
    public void A_launcher_with_bytes_after_its_ELF_image_is_refused()
    {
        string path = _directory.Combine("trailing.xar");
        byte[] launcher = [.. FakeElf.MinimalElf64(), .. new byte[5000]];

        Action write = () => WriteSelf(path, launcher);

        write.Should().Throw<XarFormatException>().WithMessage(
            $"{path}: the launcher has 5000 bytes after the end of its ELF image (64 bytes); readers, which locate the header from the ELF headers, would look for it at 4096, not 8192");
        Directory.GetFiles(_directory.Path).Should().BeEmpty();
    }

    [Fact]
    public void A_launcher_that_is_not_ELF_is_refused()
    {
        string path = _directory.Combine("notelf.xar");

        Action write = () => WriteSelf(path, Encoding.ASCII.GetBytes("#!/bin/sh\necho launcher\n"));

        write.Should().Throw<XarFormatException>().WithMessage($"{path}: the launcher is not an ELF file");
    }

    [Fact]
    public void An_ELF_file_with_nothing_after_it_is_not_an_archive()
    {
        string path = _directory.Combine("plain-elf");
        File.Copy("/bin/true", path);
        long length = new FileInfo(path).Length;

        Action open = () => XarArchive.Open(path).Dispose();

        open.Should().Throw<XarFormatException>().WithMessage($"{path}: an ELF executable with no XAR after it (its ELF extent is {length} of {length} bytes)");
    }

    [Fact]
    public void An_ELF_file_followed_by_something_else_than_a_header_is_refused()
    {
        string path = _directory.Combine("elf-junk");
        File.WriteAllBytes(path, [.. FakeElf.MinimalElf64(), .. new byte[4096 - 64], .. new byte[8192]]);

        Action open = () => XarArchive.Open(path).Dispose();

        open.Should().Throw<XarFormatException>().WithMessage(
            $"{path}: no XAR header at offset 4096, where the launcher's ELF extent (64 bytes) rounded up to 4096 puts it");
    }

    [Fact]
    public void A_self_header_cut_short_is_refused()
    {
        string path = _directory.Combine("elf-short");
        File.WriteAllBytes(path, [.. FakeElf.MinimalElf64(), .. new byte[4096 - 64], .. "#!/usr/bin/env xarexec_fuse\n"u8]);

        Action open = () => XarArchive.Open(path).Dispose();

        open.Should().Throw<XarFormatException>().WithMessage(
            $"{path}: the file ends 28 bytes into the header at offset 4096, which needs 4096");
    }

    [Fact]
    public void A_self_header_whose_OFFSET_points_into_the_launcher_is_refused()
    {
        string path = _directory.Combine("elf-offset");
        byte[] header = RawXar.Build(RawXar.OriginalHeader(), 4096, _image.Image);
        File.WriteAllBytes(path, [.. FakeElf.MinimalElf64(), .. new byte[4096 - 64], .. header]);

        Action open = () => XarArchive.Open(path).Dispose();

        open.Should().Throw<XarFormatException>().WithMessage(
            $"{path}: OFFSET 4096 leaves 0 bytes for the header at offset 4096; it needs at least 4096");
    }

    [Fact]
    public void An_ELF_whose_section_table_points_past_the_end_is_refused()
    {
        string path = _directory.Combine("elf-bad-sections");
        byte[] elf = FakeElf.MinimalElf64();
        elf[0x28 + 2] = 0x01; // e_shoff = 0x10000
        elf[0x3C] = 3;        // e_shnum
        File.WriteAllBytes(path, [.. elf, .. new byte[8192]]);

        Action open = () => XarArchive.Open(path).Dispose();

        open.Should().Throw<XarFormatException>().WithMessage(
            $"{path}: ELF section header table (3 entries of 64 bytes at 65536) extends past the end of the file (8256 bytes)");
    }
}
