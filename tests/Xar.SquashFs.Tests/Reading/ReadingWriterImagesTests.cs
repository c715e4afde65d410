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
}
