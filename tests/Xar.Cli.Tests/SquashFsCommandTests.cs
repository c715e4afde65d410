using Xar.Cli;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>`xar squashfs …` and the inspection commands: outputs, and one clear line plus a non-zero exit on bad input.</summary>
public sealed class SquashFsCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("squashfs-command");

    public void Dispose() => _temp.Dispose();

    private string Tree()
    {
        string source = _temp.Combine("src");
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
        string image = _temp.Combine("img.sqfs");
        XarTool.Run("squashfs", "create", Tree(), image, "--compression", codec, "--block-size", "64K", "--mtime", "1600000000", "-q")
            .Should().Be(new RunResult(0, "", ""));

        var (status, info, _) = XarTool.Run("squashfs", "info", image);
        status.Should().Be(0);
        info.Should().Contain($"compression:   {codec}").And.Contain("block size:    65,536").And.Contain("created 2020-09-13 12:26:40 UTC");

        XarTool.Run("squashfs", "ls", image, "pkg", "-R").Stdout.Should().Be("pkg/a.txt\npkg/sub\npkg/sub/b.txt\n");
        XarTool.Run("ls", image, "-l").Stdout.Should().Contain("lrwxrwxrwx 0/0          9 2020-09-13 12:26 link -> pkg/a.txt");

        string destination = _temp.Combine("out");
        XarTool.Run("squashfs", "extract", image, destination, "pkg/sub").ExitCode.Should().Be(0);
        File.ReadAllText(Path.Combine(destination, "pkg/sub/b.txt")).Should().Be("beta\n");
        File.Exists(Path.Combine(destination, "pkg/a.txt")).Should().BeFalse("only the named subtree is extracted");
    }

    [Fact]
    public void CatFollowsSymlinksInsideTheImage()
    {
        string image = _temp.Combine("img.sqfs");
        XarTool.Run("squashfs", "create", Tree(), image, "-q");
        var cat = Run.Program(typeof(XarCommandLine).Assembly.Location.Replace(".dll", ""), ["cat", image, "link", "pkg/sub/b.txt"]);
        (cat.ExitCode, cat.Stdout).Should().Be((0, "alpha\nbeta\n"));
    }

    [Fact]
    public void TheSameTreeGivesTheSameBytes()
    {
        string source = Tree();
        XarTool.Run("squashfs", "create", source, _temp.Combine("1.sqfs"), "-q", "--threads", "1");
        XarTool.Run("squashfs", "create", source, _temp.Combine("2.sqfs"), "-q", "--threads", "3");
        File.ReadAllBytes(_temp.Combine("1.sqfs")).Should().Equal(File.ReadAllBytes(_temp.Combine("2.sqfs")));
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
        string image = _temp.Combine("img.sqfs");
        var resolved = args.Select(a => a == "SRC" ? source : a == "IMG" ? image : a).ToArray();

        var (status, _, errors) = XarTool.Run(resolved);

        status.Should().Be(XarCommandLine.ExitFailure);
        errors.Should().Be(expected);
        Directory.GetFiles(_temp.Path).Should().BeEmpty("no output, not even a temporary file, is left behind");
    }

    /// <summary>Issue 8: 2^31 blocks threw OverflowException; with 2^32, cat threw NullReferenceException and extract wrote an empty file as success.</summary>
    [Theory]
    [InlineData(1L << 31)]
    [InlineData(1L << 32)]
    public void AFileClaiming2To31Or2To32BlocksIsOneLineForCatAndExtract(long blocks)
    {
        string source = Tree();
        Run.Checked("ln", [Path.Combine(source, "pkg/a.txt"), Path.Combine(source, "pkg/hard.txt")]); // an extended inode
        string intact = _temp.Combine("intact.sqfs");
        Run.Checked("mksquashfs", [source, intact, "-b", "4K", "-noI", "-noD", "-noF", "-noX", "-no-xattrs", "-quiet", "-no-progress"]);
        string image = _temp.Combine("huge.sqfs");
        File.WriteAllBytes(image, HostileImages.WithHugeFile(File.ReadAllBytes(intact), intact, "/pkg/a.txt", blocks));
        string destination = _temp.Combine("out");

        var cat = XarTool.Run("cat", image, "pkg/a.txt");
        var extract = XarTool.Run("extract", image, destination);

        foreach (var (status, _, errors) in new[] { cat, extract })
        {
            status.Should().Be(XarCommandLine.ExitFailure, errors);
            errors.Should().StartWith($"xar: {image}: ").And.Contain($"needs {blocks} blocks").And.EndWith("\n");
            errors.Count(c => c == '\n').Should().Be(1);
        }
        Path.Exists(destination).Should().BeFalse("a failed extraction into a new directory leaves nothing");
        Directory.GetFileSystemEntries(_temp.Path, ".out.*").Should().BeEmpty();
    }

    [Fact]
    public void ACorruptImageIsOneLineNamingTheFile()
    {
        string image = _temp.Combine("img.sqfs");
        XarTool.Run("squashfs", "create", Tree(), image, "-q");
        var bytes = File.ReadAllBytes(image);
        File.WriteAllBytes(image, bytes[..200]);

        var (status, _, errors) = XarTool.Run("squashfs", "ls", image);

        status.Should().Be(XarCommandLine.ExitFailure);
        errors.Should().StartWith($"xar: {image}: ").And.Contain("truncated").And.EndWith("\n");
        errors.Count(c => c == '\n').Should().Be(1);
    }
}
