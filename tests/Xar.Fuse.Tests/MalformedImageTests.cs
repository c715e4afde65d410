using Xar.SquashFs.Compression;
using Xar.SquashFs.Writing;

namespace Xar.Fuse.Tests;

/// <summary>A damaged image: the request that meets the damage fails with EIO, the server serves on.</summary>
public class MalformedImageTests
{
    [Fact]
    public void A_corrupt_data_block_is_EIO_for_its_file_and_the_rest_is_still_served()
    {
        using var scratch = new TempDirectory("fuse-malformed");
        string tree = scratch.Combine("tree");
        Directory.CreateDirectory(tree);
        // The first file's blocks come first in the data area, right after the 96-byte superblock.
        File.WriteAllText(Path.Combine(tree, "a-damaged.txt"), string.Concat(Enumerable.Range(0, 40_000).Select(i => $"line {i}\n")));
        File.WriteAllText(Path.Combine(tree, "b-intact.txt"), "intact\n");
        string image = scratch.Combine("image.sqfs");
        SquashFsWriter.CreateImage(tree, image, new SquashFsWriterOptions { Compression = CompressionSettings.For(CompressionAlgorithm.Gzip) });
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = 200;
            stream.Write(Enumerable.Repeat((byte)0xA5, 300).ToArray());
        }
        using var mount = new ServedMount(image);

        RunResult damaged = Run.Program("cat", [mount.Combine("a-damaged.txt")]);

        damaged.ExitCode.Should().NotBe(0);
        damaged.Stderr.Should().Contain("Input/output error");
        File.ReadAllText(mount.Combine("b-intact.txt")).Should().Be("intact\n");
        Directory.GetFiles(mount.Directory).Should().HaveCount(2);
    }
}
