using Xar.SquashFs.Compression;
using Xar.SquashFs.Reading;
using Xar.SquashFs.Tests.Support;
using Xar.SquashFs.Writing;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>
/// Images made by our own writer, read by this reader and by unsquashfs: both readers must agree,
/// so a disagreement points at one of the two pieces (unsquashfs is the arbiter).
/// </summary>
public class ReadingWriterImagesTests
{
    public static TheoryData<CompressionAlgorithm, int, bool> Settings() => new()
    {
        { CompressionAlgorithm.Zstd, 131072, true },
        { CompressionAlgorithm.Gzip, 4096, true },
        { CompressionAlgorithm.Lz4, 65536, false },
        { CompressionAlgorithm.Xz, 1 << 20, true },
        { CompressionAlgorithm.None, 131072, true },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Our_writer_images_read_like_unsquashfs_reads_them(CompressionAlgorithm algorithm, int blockSize, bool fragments)
    {
        using var scratch = new TempDirectory("writer");
        string image = scratch.Combine("ours.sqfs");
        SquashFsWriter.CreateImage(ImageOptions.RichTree, image, new SquashFsWriterOptions
        {
            Compression = CompressionSettings.For(algorithm),
            BlockSize = blockSize,
            UseFragments = fragments,
            KeepOwners = true,
            Xattrs = true,
        });
        using var reader = SquashFsImage.Open(image);

        reader.EnumerateTree().Select(UnsquashfsListing.Format).Should().Equal(SquashFsTools.ListNumeric(image));
        reader.ExtractTo(scratch.Combine("ours"), new ExtractOptions { RestoreOwners = true });
        SquashFsTools.Unsquashfs(image, scratch.Combine("theirs"));
        TreeSnapshot.Capture(scratch.Combine("ours"), withOwners: true).ShouldMatch(TreeSnapshot.Capture(scratch.Combine("theirs"), withOwners: true));
        foreach (var (relative, source) in ReadingImageTests.SourceFiles(ImageOptions.RichTree))
            File.ReadAllBytes(scratch.Combine("ours", relative)).AsSpan().SequenceEqual(File.ReadAllBytes(source)).Should().BeTrue(relative);
        reader.GetXattrs(reader.GetEntry("xattr/one.txt")).Select(x => x.Name).Should().BeEquivalentTo("user.small", "user.big");
    }

    /// <summary>
    /// The prefetch's entry point: index BlockCount loads a file's fragment block, once; a file
    /// without a fragment, and indexes outside the file, load nothing. What is cached then reads as written.
    /// </summary>
    [Fact]
    public void CacheDataBlock_loads_a_files_blocks_and_its_fragment_block_once_and_nothing_past_them()
    {
        using var scratch = new TempDirectory("cache-block");
        string tree = scratch.Combine("tree");
        Directory.CreateDirectory(tree);
        byte[] tailed = [.. Enumerable.Range(0, 4096 * 2 + 100).Select(i => (byte)(i * 7))];
        File.WriteAllBytes(Path.Combine(tree, "tailed"), tailed);
        File.WriteAllBytes(Path.Combine(tree, "whole"), new byte[4096]);
        string image = scratch.Combine("image.sqfs");
        SquashFsWriter.CreateImage(tree, image, new SquashFsWriterOptions { Compression = CompressionSettings.For(CompressionAlgorithm.Gzip), BlockSize = 4096, UseFragments = true });
        using var reader = SquashFsImage.Open(image);
        SquashFsEntry file = reader.GetEntry("tailed");
        SquashFsEntry whole = reader.GetEntry("whole");

        file.BlockCount.Should().Be(2);
        file.HasFragment.Should().BeTrue();
        reader.CacheDataBlock(file, 2).Should().BeTrue("the fragment block");
        reader.CacheDataBlock(file, 2).Should().BeFalse("cached already");
        reader.CacheDataBlock(file, 0).Should().BeTrue();
        reader.CacheDataBlock(file, 3).Should().BeFalse();
        reader.CacheDataBlock(file, -1).Should().BeFalse();
        whole.HasFragment.Should().BeFalse();
        reader.CacheDataBlock(whole, whole.BlockCount).Should().BeFalse("no fragment");
        var read = new byte[tailed.Length];
        reader.ReadFile(file, 0, read).Should().Be(tailed.Length);
        read.Should().Equal(tailed);
    }
}
