using System.Text;

namespace Xar.Archive.Tests;

/// <summary>
/// Each rule the reader takes from the union of the original readers (docs/xar-format.md §7): headers
/// that one original reader accepts, though another may not.
/// </summary>
public sealed class ReaderRuleTests : IClassFixture<SquashFsImageFixture>, IDisposable
{
    private readonly SquashFsImageFixture _image;
    private readonly TempDirectory _directory = new();

    public ReaderRuleTests(SquashFsImageFixture image) => _image = image;

    public void Dispose() => _directory.Dispose();

    private XarArchive OpenRaw(string headerText, int headerSize = 4096)
    {
        string path = _directory.Combine($"raw-{Guid.NewGuid():N}.xar");
        File.WriteAllBytes(path, RawXar.Build(headerText, headerSize, _image.Image));
        return XarArchive.Open(path);
    }

    [Fact]
    public void An_archive_of_the_original_builder_is_read_with_all_its_keys()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader());

        archive.Layout.Should().Be(XarLayout.Xarexec);
        archive.HeaderOffset.Should().Be(0);
        archive.ImageOffset.Should().Be(4096);
        archive.ImageLength.Should().Be(_image.Image.Length);
        archive.Header.Shebang.Should().Be("#!/usr/bin/env xarexec_fuse");
        archive.Header.Uuid.Should().Be("5ea3a17c");
        archive.Header.Version.Should().Be("1795279275");
        archive.Header.Dependencies.Should().BeEmpty();
        archive.Header.XarexecTarget.Should().Be("echo.sh");
        archive.Header.Format.Should().BeNull("the original writes no XAR_FORMAT");
        archive.Header.ImageSha256.Should().BeNull();
        archive.Header.Entries.Select(entry => entry.Key).Should().Equal("OFFSET", "UUID", "VERSION", "DEPENDENCIES", "XAREXEC_TARGET");
        archive.Superblock.BytesUsed.Should().BeGreaterThan(96);
        archive.Verify().Should().Be(XarVerification.NoHashRecorded);
    }

    [Theory]
    [InlineData("#!/bin/echo This is not an executable XAR file.")] // the builder's non-executable shebang
    [InlineData("#!/opt/xar/bin/xarexec_fuse")]                       // a custom --xar-exec
    public void Any_shebang_is_accepted_because_the_runtime_never_checks_it(string shebang)
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader().Replace("#!/usr/bin/env xarexec_fuse", shebang));

        archive.Header.Shebang.Should().Be(shebang);
    }

    [Fact]
    public void A_header_without_a_shebang_line_is_accepted_as_the_runtime_does()
    {
        using XarArchive archive = OpenRaw("OFFSET=\"4096\"\nUUID=\"abc\"\n#xar_stop\n");

        archive.Header.Shebang.Should().BeNull();
        archive.Header.Uuid.Should().Be("abc");
    }

    [Fact]
    public void Blank_and_comment_lines_before_xar_stop_are_skipped_as_the_runtime_does()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader("\n# a comment\nDEPENDENCIES=\"\"\n\n#another\n"));

        archive.Header.Entries.Select(entry => entry.Key).Should().Equal("OFFSET", "UUID", "VERSION", "DEPENDENCIES");
    }

    [Fact]
    public void A_line_splits_at_the_first_equals_sign_and_the_value_may_hold_quotes_as_in_the_runtime()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader("XAR_HEADER=\"a=b=c\"\nWEIRD=\"a \"quoted\" c\"\n"));

        archive.Header["XAR_HEADER"].Should().Be("a=b=c");
        archive.Header["WEIRD"].Should().Be("a \"quoted\" c");
    }

    [Fact]
    public void A_repeated_key_keeps_its_last_value_as_in_the_runtime()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader("XAREXEC_TARGET=\"first.sh\"\nXAREXEC_TARGET=\"second.sh\"\n"));

        archive.Header.XarexecTarget.Should().Be("second.sh");
        archive.Header["XAREXEC_TARGET"].Should().Be("second.sh");
        archive.Header.Entries.Where(entry => entry.Key == "XAREXEC_TARGET").Select(entry => entry.Value)
            .Should().Equal("first.sh", "second.sh");
    }

    [Fact]
    public void OFFSET_may_stand_on_another_line_than_the_second_as_the_runtime_allows()
    {
        using XarArchive archive = OpenRaw("#!/usr/bin/env xarexec_fuse\nUUID=\"abc\"\nOFFSET=\"4096\"\n#xar_stop\n");

        archive.ImageOffset.Should().Be(4096);
    }

    [Fact]
    public void OFFSET_8192_is_accepted_as_XarParser_does()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader(offset: 8192), headerSize: 8192);

        archive.ImageOffset.Should().Be(8192);
        archive.ImageLength.Should().Be(_image.Image.Length);
    }

    [Fact]
    public void OFFSET_with_leading_zeros_is_accepted_as_XarParser_strtoull_does()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader().Replace("OFFSET=\"4096\"", "OFFSET=\"04096\""));

        archive.ImageOffset.Should().Be(4096);
    }

    [Fact]
    public void A_header_longer_than_4096_bytes_as_the_builder_writes_it_is_read_in_full()
    {
        // The builder's own test: a 5000-byte value gives OFFSET 8192 (docs/xar-format.md §4, verified).
        string longValue = new('0', 5000);
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader($"IGNORED=\"{longValue}\"\nXAREXEC_TARGET=\"echo.sh\"\n", offset: 8192), headerSize: 8192);

        archive.ImageOffset.Should().Be(8192);
        archive.Header["IGNORED"].Should().Be(longValue);
        archive.Header.XarexecTarget.Should().Be("echo.sh", "lines after the 4096th byte are read too");
    }

    [Fact]
    public void VERSION_and_XAREXEC_TARGET_are_optional_as_in_the_runtime()
    {
        using XarArchive archive = OpenRaw("#!/bin/echo This is not an executable XAR file.\nOFFSET=\"4096\"\nUUID=\"5ea3a17c\"\n#xar_stop\n");

        archive.Header.Version.Should().BeNull();
        archive.Header.XarexecTarget.Should().BeNull();
    }

    [Fact]
    public void A_4096_byte_header_may_lack_xar_stop_as_the_runtime_reads_lines_to_its_end()
    {
        using XarArchive archive = OpenRaw("#!/usr/bin/env xarexec_fuse\nOFFSET=\"4096\"\nUUID=\"5ea3a17c\"\nVERSION=\"1\"\n");

        archive.Header.Version.Should().Be("1");
    }

    [Fact]
    public void Lines_after_xar_stop_are_not_parsed()
    {
        using XarArchive archive = OpenRaw("#!/usr/bin/env xarexec_fuse\nOFFSET=\"4096\"\nUUID=\"5ea3a17c\"\n#xar_stop\nnot a key line\nAFTER=\"stop\"\n");

        archive.Header["AFTER"].Should().BeNull();
    }

    [Fact]
    public void Unknown_keys_are_kept_and_otherwise_ignored()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader("DEPENDENCIES=\"a.xar b.xar\"\nSOMETHING_ELSE=\"x\"\n"));

        archive.Header["SOMETHING_ELSE"].Should().Be("x");
        archive.Header.Dependencies.Should().Equal("a.xar", "b.xar");
    }

    [Fact]
    public void An_uppercase_hex_UUID_is_accepted_as_the_runtime_checks_only_isxdigit()
    {
        using XarArchive archive = OpenRaw(RawXar.OriginalHeader().Replace("5ea3a17c", "5EA3A17C"));

        archive.Header.Uuid.Should().Be("5EA3A17C");
    }

    [Fact]
    public void Parse_reads_a_header_from_bytes()
    {
        byte[] header = RawXar.Build(RawXar.OriginalHeader(), 4096, []);

        XarHeader parsed = XarHeader.Parse(header, "bytes");

        parsed.ImageOffset.Should().Be(4096);
        parsed.XarexecTarget.Should().Be("echo.sh");
        Encoding.UTF8.GetString(header).Should().StartWith(parsed.Shebang);
    }
}
