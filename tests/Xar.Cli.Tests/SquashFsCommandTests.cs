using System.Diagnostics;
using Xar.Cli;
using static Xar.Cli.Tests.CliRunner;

namespace Xar.Cli.Tests;

/// <summary>`xar squashfs …` and the inspection commands: outputs, and one clear line plus a non-zero exit on bad input.</summary>
public sealed class SquashFsCommandTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("xar-cli-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string Tree()
    {
        string source = Path.Combine(_temp, "src");
        Directory.CreateDirectory(Path.Combine(source, "pkg/sub"));
        File.WriteAllText(Path.Combine(source, "pkg/a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(source, "pkg/sub/b.txt"), "beta\n");
        File.CreateSymbolicLink(Path.Combine(source, "link"), "pkg/a.txt");
        return source;
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("xz")]
    [InlineData("lz4")]
    [InlineData("none")]
    public void CreateThenInspectEveryCodec(string codec)
    {
        string image = Path.Combine(_temp, "img.sqfs");
        RunXar("squashfs", "create", Tree(), image, "--compression", codec, "--block-size", "64K", "--mtime", "1600000000", "-q")
            .Should().Be((0, "", ""));

        var (status, info, _) = RunXar("squashfs", "info", image);
        status.Should().Be(0);
        info.Should().Contain($"compression:   {codec}").And.Contain("block size:    65,536").And.Contain("created 2020-09-13 12:26:40 UTC");

        RunXar("squashfs", "ls", image, "pkg", "-R").Output.Should().Be("pkg/a.txt\npkg/sub\npkg/sub/b.txt\n");
        RunXar("ls", image, "-l").Output.Should().Contain("lrwxrwxrwx 0/0          9 2020-09-13 12:26 link -> pkg/a.txt");

        string destination = Path.Combine(_temp, "out");
        RunXar("squashfs", "extract", image, destination, "pkg/sub").Status.Should().Be(0);
        File.ReadAllText(Path.Combine(destination, "pkg/sub/b.txt")).Should().Be("beta\n");
        File.Exists(Path.Combine(destination, "pkg/a.txt")).Should().BeFalse("only the named subtree is extracted");
    }

    [Fact]
    public void CatFollowsSymlinksInsideTheImage()
    {
        string image = Path.Combine(_temp, "img.sqfs");
        RunXar("squashfs", "create", Tree(), image, "-q");
        var cat = new Process { StartInfo = new ProcessStartInfo(typeof(XarCommandLine).Assembly.Location.Replace(".dll", ""), ["cat", image, "link", "pkg/sub/b.txt"]) { RedirectStandardOutput = true } };
        cat.Start();
        string output = cat.StandardOutput.ReadToEnd();
        cat.WaitForExit();
        (cat.ExitCode, output).Should().Be((0, "alpha\nbeta\n"));
    }

    [Fact]
    public void TheSameTreeGivesTheSameBytes()
    {
        string source = Tree();
        RunXar("squashfs", "create", source, Path.Combine(_temp, "1.sqfs"), "-q", "--threads", "1");
        RunXar("squashfs", "create", source, Path.Combine(_temp, "2.sqfs"), "-q", "--threads", "3");
        File.ReadAllBytes(Path.Combine(_temp, "1.sqfs")).Should().Equal(File.ReadAllBytes(Path.Combine(_temp, "2.sqfs")));
    }

    public static TheoryData<string[], string> BadInvocations() => new()
    {
        { ["squashfs", "create", "/nonexistent-dir", "IMG"], "xar: /nonexistent-dir: no such directory\n" },
        { ["squashfs", "create", "SRC", "IMG", "--block-size", "3K"], "xar: block size 3072 is not a power of two between 4 KiB and 1 MiB\n" },
        { ["squashfs", "create", "SRC", "IMG", "--block-size", "lots"], "xar: --block-size lots: not a size (examples: 4K, 128K, 1M, 131072)\n" },
        { ["squashfs", "create", "SRC", "IMG", "--compression", "zstd", "--level", "23"], "xar: --level 23: zstd level must be between 1 and 22\n" },
        { ["squashfs", "info", "/nonexistent.sqfs"], "xar: /nonexistent.sqfs: no such file\n" },
    };

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public void BadArgumentsAreOneLineAndNothingIsWritten(string[] args, string expected)
    {
        string source = Tree();
        string image = Path.Combine(_temp, "img.sqfs");
        var resolved = args.Select(a => a == "SRC" ? source : a == "IMG" ? image : a).ToArray();

        var (status, _, errors) = RunXar(resolved);

        status.Should().Be(XarCommandLine.ExitFailure);
        errors.Should().Be(expected);
        Directory.GetFiles(_temp).Should().BeEmpty("no output, not even a temporary file, is left behind");
    }

    [Fact]
    public void ACorruptImageIsOneLineNamingTheFile()
    {
        string image = Path.Combine(_temp, "img.sqfs");
        RunXar("squashfs", "create", Tree(), image, "-q");
        var bytes = File.ReadAllBytes(image);
        File.WriteAllBytes(image, bytes[..200]);

        var (status, _, errors) = RunXar("squashfs", "ls", image);

        status.Should().Be(XarCommandLine.ExitFailure);
        errors.Should().StartWith($"xar: {image}: ").And.Contain("truncated").And.EndWith("\n");
        errors.Count(c => c == '\n').Should().Be(1);
    }
}
