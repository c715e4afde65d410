using System.Security.Cryptography;
using System.Text;

namespace Xar.Archive.Tests;

/// <summary>
/// The header of an xarexec-layout archive against the original builder's output as recorded in
/// docs/xar-format.md §4 ("Concrete header [verified]"), field for field and byte for byte.
/// </summary>
public sealed class GoldenHeaderTests : IClassFixture<SquashFsImageFixture>, IDisposable
{
    private readonly SquashFsImageFixture _image;
    private readonly TempDirectory _directory = new();

    public GoldenHeaderTests(SquashFsImageFixture image) => _image = image;

    public void Dispose() => _directory.Dispose();

    private byte[] WriteXarexec(XarHeaderFields fields)
    {
        string path = _directory.Combine("golden.xar");
        XarArchiveWriter.Write(path, new XarWriteOptions { Layout = XarLayout.Xarexec, Header = fields }, new MemoryStream(_image.Image));
        return File.ReadAllBytes(path);
    }

    private string ImageSha256 => Convert.ToHexStringLower(SHA256.HashData(_image.Image));

    [Fact]
    public void Header_is_the_original_verified_header_plus_our_two_lines_then_newline_padding_to_4096()
    {
        byte[] file = WriteXarexec(new XarHeaderFields { Uuid = "5ea3a17c", Version = 1795279275, XarexecTarget = "echo.sh" });

        string expectedText =
            "#!/usr/bin/env xarexec_fuse\n" +
            "OFFSET=\"4096\"\n" +
            "UUID=\"5ea3a17c\"\n" +
            "VERSION=\"1795279275\"\n" +
            "DEPENDENCIES=\"\"\n" +
            "XAREXEC_TARGET=\"echo.sh\"\n" +
            "XAR_FORMAT=\"1\"\n" +
            $"XAR_IMAGE_SHA256=\"{ImageSha256}\"\n" +
            "#xar_stop\n" +
            "echo This XAR file should not be executed by sh\n" +
            "exit 1\n" +
            "# Actual squashfs file begins at 4096\n";
        byte[] expected = new byte[4096];
        expected.AsSpan().Fill((byte)'\n');
        Encoding.ASCII.GetBytes(expectedText).CopyTo(expected, 0);

        file.AsSpan(0, 4096).ToArray().Should().Equal(expected);
        file.AsSpan(4096).ToArray().Should().Equal(_image.Image, "the image follows at OFFSET verbatim");
        file.Length.Should().Be(4096 + _image.Image.Length, "there is no trailer");
    }

    [Fact]
    public void Without_our_extra_lines_the_header_is_exactly_the_one_in_xar_format_md()
    {
        byte[] file = WriteXarexec(new XarHeaderFields { Uuid = "5ea3a17c", Version = 1795279275, XarexecTarget = "echo.sh" });
        string header = Encoding.UTF8.GetString(file, 0, 4096);
        string withoutOurs = string.Join('\n', header.Split('\n').Where(line => !line.StartsWith("XAR_", StringComparison.Ordinal)));

        // Verbatim from docs/xar-format.md §4, "Concrete header [verified] (raw XAR with a shell target)".
        const string Documented = """
            #!/usr/bin/env xarexec_fuse
            OFFSET="4096"
            UUID="5ea3a17c"
            VERSION="1795279275"
            DEPENDENCIES=""
            XAREXEC_TARGET="echo.sh"
            #xar_stop
            echo This XAR file should not be executed by sh
            exit 1
            # Actual squashfs file begins at 4096
            """;
        withoutOurs.TrimEnd('\n').Should().Be(Documented);
    }

    [Fact]
    public void Field_by_field_the_lines_follow_the_original_order_and_quoting()
    {
        var fields = new XarHeaderFields
        {
            Uuid = "0123abcd",
            Version = 1700000000,
            Dependencies = ["libs.xar", "debug.xar"],
            MountRoot = "/mnt/xarfuse",
            XarexecTarget = "bootstrap_xar.sh",
            Extra = { [XarHeaderKeys.RequiresPython] = ">=3.11,<3.14", [XarHeaderKeys.RequiresPlatform] = "manylinux_2_28_x86_64" },
        };
        string[] lines = Encoding.UTF8.GetString(WriteXarexec(fields), 0, 4096).Split('\n');

        lines[0].Should().Be("#!/usr/bin/env xarexec_fuse", "line 1 is the shebang (§6)");
        lines[1].Should().Be("OFFSET=\"4096\"", "OFFSET is on line 2, as XarParser demands, and the runtime wants exactly \"4096\"");
        lines[2].Should().Be("UUID=\"0123abcd\"");
        lines[3].Should().Be("VERSION=\"1700000000\"", "VERSION is '%d' of an integer");
        lines[4].Should().Be("DEPENDENCIES=\"libs.xar debug.xar\"", "space-separated basenames, always written");
        lines[5].Should().Be("MOUNT_ROOT=\"/mnt/xarfuse\"", "MOUNT_ROOT sits between DEPENDENCIES and XAREXEC_TARGET");
        lines[6].Should().Be("XAREXEC_TARGET=\"bootstrap_xar.sh\"");
        lines[7].Should().Be("XAR_FORMAT=\"1\"");
        lines[8].Should().Be($"XAR_IMAGE_SHA256=\"{ImageSha256}\"");
        lines[9].Should().Be("XAR_REQUIRES_PYTHON=\">=3.11,<3.14\"", "extra keys keep their insertion order");
        lines[10].Should().Be("XAR_REQUIRES_PLATFORM=\"manylinux_2_28_x86_64\"");
        lines[11].Should().Be("#xar_stop");
        lines[12].Should().Be("echo This XAR file should not be executed by sh");
        lines[13].Should().Be("exit 1");
        lines[14].Should().Be("# Actual squashfs file begins at 4096");
        lines.Skip(15).Should().OnlyContain(line => line.Length == 0, "the rest is '\\n' padding");
    }

    [Fact]
    public void Default_uuid_is_the_first_eight_hex_digits_of_the_image_sha256_in_the_original_format()
    {
        byte[] file = WriteXarexec(new XarHeaderFields { Version = 1 });
        string header = Encoding.UTF8.GetString(file, 0, 4096);
        header.Should().Contain($"\nUUID=\"{ImageSha256[..8]}\"\n");
        ImageSha256[..8].Should().MatchRegex("^[0-9a-f]{8}$");
    }

    [Fact]
    public void The_header_is_a_shell_script_that_refuses_to_run_like_the_original()
    {
        string path = _directory.Combine("sh.xar");
        XarArchiveWriter.Write(path, new XarWriteOptions { Layout = XarLayout.Xarexec, Header = new XarHeaderFields { Version = 1, XarexecTarget = "echo.sh" } },
            new MemoryStream(_image.Image));

        var (exitCode, stdout, _) = Run.Program("/bin/sh", [path]);

        exitCode.Should().Be(1);
        stdout.Should().Be("This XAR file should not be executed by sh\n");
    }

    [Fact]
    public void Unsquashfs_with_the_OFFSET_from_the_header_lists_the_image()
    {
        string path = _directory.Combine("list.xar");
        XarArchiveWriter.Write(path, new XarWriteOptions { Layout = XarLayout.Xarexec, Header = new XarHeaderFields { Version = 1 } },
            new MemoryStream(_image.Image));

        var (exitCode, stdout, stderr) = Run.Program("unsquashfs", ["-offset", "4096", "-ls", path]);

        exitCode.Should().Be(0, stderr);
        stdout.Should().Contain("squashfs-root/echo.sh").And.Contain("squashfs-root/pkg/__init__.py");
    }
}
