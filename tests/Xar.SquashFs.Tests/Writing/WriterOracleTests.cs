using Xar.SquashFs.Compression;
using Xar.SquashFs.Tests.Support;
using Xar.SquashFs.Writing;

namespace Xar.SquashFs.Tests.Writing;

/// <summary>
/// Our images, read by the reference tools: `unsquashfs` must extract exactly the source tree and
/// list it cleanly, and `squashfuse_ll` must serve it identically.
/// </summary>
public sealed class WriterOracleTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<CompressionAlgorithm, int?, int, bool, bool> Variants() => new()
    {
        { CompressionAlgorithm.Gzip, null, 128 * 1024, true, true },
        { CompressionAlgorithm.Gzip, 1, 4096, true, true },
        { CompressionAlgorithm.Zstd, 3, 128 * 1024, true, true },
        { CompressionAlgorithm.Zstd, 19, 64 * 1024, false, true },
        { CompressionAlgorithm.Xz, null, 1024 * 1024, true, true },
        { CompressionAlgorithm.Lz4, null, 128 * 1024, true, false },
        { CompressionAlgorithm.Lz4, 9, 8192, false, false },
        { CompressionAlgorithm.None, null, 128 * 1024, true, true },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void UnsquashfsExtractsTheSourceTreeExactly(CompressionAlgorithm algorithm, int? level, int blockSize, bool fragments, bool dedup)
    {
        string source = _temp.Combine("src");
        TreeGenerator.Generate(source, seed: blockSize + (int)algorithm, blockSize);
        string image = _temp.Combine("image.sqfs");
        var options = new SquashFsWriterOptions
        {
            Compression = CompressionSettings.For(algorithm, level),
            BlockSize = blockSize,
            UseFragments = fragments,
            Deduplicate = dedup,
            Threads = 3,
        };

        SquashFsWriter.CreateImage(source, image, options);

        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, image]);
        TreeSnapshot.Capture(output).ShouldMatch(TreeSnapshot.Capture(source));

        string listing = System.Text.Encoding.UTF8.GetString(ExternalTool.Run("unsquashfs", "squashfs-tools", ["-lls", "-d", "", image]));
        var lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Length > 0 && "-dlcbps".Contains(l[0])).ToList();
        lines.Should().HaveCount(TreeSnapshot.Capture(source).Count, "every entry and the root is listed");
    }

    [Fact]
    public void SquashfuseServesTheSourceTreeExactly()
    {
        string source = _temp.Combine("src");
        TreeGenerator.Generate(source, seed: 7, 128 * 1024);
        string image = _temp.Combine("image.sqfs");
        SquashFsWriter.CreateImage(source, image, new SquashFsWriterOptions { Compression = CompressionSettings.For(CompressionAlgorithm.Zstd, 3) });

        string mountPoint = _temp.Combine("mnt");
        Directory.CreateDirectory(mountPoint);
        ExternalTool.Run("squashfuse_ll", "squashfuse", [image, mountPoint]);
        try
        {
            TreeSnapshot.Capture(mountPoint).ShouldMatch(TreeSnapshot.Capture(source));
        }
        finally
        {
            ExternalTool.Run("fusermount3", "fuse3", ["-u", mountPoint]);
        }
    }

    [Fact]
    public void TwoBuildsOfTheSameTreeAreByteIdenticalWhateverTheThreadCount()
    {
        string source = _temp.Combine("src");
        TreeGenerator.Generate(source, seed: 11, 16 * 1024);
        var options = new SquashFsWriterOptions { Compression = CompressionSettings.For(CompressionAlgorithm.Zstd, 3), BlockSize = 16 * 1024 };

        SquashFsWriter.CreateImage(source, _temp.Combine("one.sqfs"), options with { Threads = 1 });
        SquashFsWriter.CreateImage(source, _temp.Combine("two.sqfs"), options with { Threads = 4 });

        File.ReadAllBytes(_temp.Combine("two.sqfs")).Should().Equal(File.ReadAllBytes(_temp.Combine("one.sqfs")));
    }

    [Fact]
    public void AFixedTimeMakesTheImageIndependentOfSourceTimestamps()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "a.txt"), "a");
        var options = new SquashFsWriterOptions { FixedTime = 1_600_000_000 };
        SquashFsWriter.CreateImage(source, _temp.Combine("one.sqfs"), options);
        File.SetLastWriteTimeUtc(Path.Combine(source, "a.txt"), DateTime.UtcNow.AddDays(-3));
        SquashFsWriter.CreateImage(source, _temp.Combine("two.sqfs"), options);

        File.ReadAllBytes(_temp.Combine("two.sqfs")).Should().Equal(File.ReadAllBytes(_temp.Combine("one.sqfs")));
        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, _temp.Combine("one.sqfs")]);
        File.GetLastWriteTimeUtc(Path.Combine(output, "a.txt")).Should().Be(DateTimeOffset.FromUnixTimeSeconds(1_600_000_000).UtcDateTime);
    }

    [Fact]
    public void DuplicatesAreStoredOnce()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(source);
        var random = new Random(3);
        var content = new byte[300_000];
        random.NextBytes(content);
        for (int i = 0; i < 5; i++) File.WriteAllBytes(Path.Combine(source, $"copy{i}"), content);

        var withDedup = SquashFsWriter.CreateImage(source, _temp.Combine("dedup.sqfs"), new SquashFsWriterOptions());
        var without = SquashFsWriter.CreateImage(source, _temp.Combine("plain.sqfs"), new SquashFsWriterOptions { Deduplicate = false });

        withDedup.DataBytes.Should().BeLessThan(without.DataBytes / 4);
        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, _temp.Combine("dedup.sqfs")]);
        TreeSnapshot.Capture(output).ShouldMatch(TreeSnapshot.Capture(source));
    }

    [Fact]
    public void OwnersAreRootUnlessKeptOnRequest()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(source);
        string file = Path.Combine(source, "owned");
        File.WriteAllText(file, "x");
        Run.Checked("chown", ["1234:5678", file]);

        SquashFsWriter.CreateImage(source, _temp.Combine("root.sqfs"), new SquashFsWriterOptions());
        SquashFsWriter.CreateImage(source, _temp.Combine("kept.sqfs"), new SquashFsWriterOptions { KeepOwners = true });

        Listing(_temp.Combine("root.sqfs")).Should().Contain(l => l.Contains("0/0") && l.EndsWith("/owned"));
        Listing(_temp.Combine("kept.sqfs")).Should().Contain(l => l.Contains("1234/5678") && l.EndsWith("/owned"));
    }

    [Fact]
    public void ExtendedAttributesAreStoredWhenAskedFor()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(source);
        string file = Path.Combine(source, "tagged");
        File.WriteAllText(file, "x");
        File.WriteAllText(Path.Combine(source, "same-tags"), "y");
        foreach (var f in new[] { file, Path.Combine(source, "same-tags") })
        {
            Run.Checked("setfattr", ["-n", "user.colour", "-v", "blue", f]);
            Run.Checked("setfattr", ["-n", "user.big", "-v", "0x" + new string('a', 600), f]);
        }

        SquashFsWriter.CreateImage(source, _temp.Combine("x.sqfs"), new SquashFsWriterOptions { Xattrs = true });

        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, _temp.Combine("x.sqfs")]);
        foreach (var name in new[] { "tagged", "same-tags" })
        {
            string attrs = System.Text.Encoding.UTF8.GetString(ExternalTool.Run("getfattr", "attr", ["-d", "-e", "hex", Path.Combine(output, name)]));
            attrs.Should().Contain("user.colour=0x626c7565").And.Contain("user.big=0x" + new string('a', 600));
        }
    }

    private List<string> Listing(string image) =>
        System.Text.Encoding.UTF8.GetString(ExternalTool.Run("unsquashfs", "squashfs-tools", ["-lln", "-d", "", image]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
}
