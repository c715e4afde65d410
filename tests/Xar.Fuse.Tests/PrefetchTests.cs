using System.Security.Cryptography;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Writing;

namespace Xar.Fuse.Tests;

/// <summary>
/// The prefetch of ELF files under the kernel (<see cref="BlockPrefetch"/>): what it decompresses
/// ahead is what the READs return, it stays inside the file's blocks, and a corrupt block it meets
/// is EIO for the READ that needs it, not the end of the server.
/// </summary>
public class PrefetchTests
{
    private const int BlockSize = 256 * 1024;

    /// <summary>"\x7fELF", then incompressible bytes for the whole first block (stored raw: the corruption below misses it), then text.</summary>
    private static byte[] ElfLike(int textBlocks, int seed)
    {
        var head = new byte[BlockSize];
        new Random(seed).NextBytes(head);
        "\u007FELF"u8.CopyTo(head);
        var text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, textBlocks * BlockSize / 12).Select(i => $"line {i,6}\n")));
        // A tail that is not a whole block: it goes into a fragment, past the data blocks.
        return [.. head, .. text, .. new byte[1000]];
    }

    private static string Image(TempDirectory scratch, Dictionary<string, byte[]> files)
    {
        string tree = scratch.Combine("tree");
        Directory.CreateDirectory(tree);
        foreach ((string name, byte[] content) in files)
            File.WriteAllBytes(Path.Combine(tree, name), content);
        string image = scratch.Combine("image.sqfs");
        SquashFsWriter.CreateImage(tree, image, new SquashFsWriterOptions
        {
            Compression = CompressionSettings.For(CompressionAlgorithm.Gzip),
            BlockSize = BlockSize,
            UseFragments = true,
        });
        return image;
    }

    [Fact]
    public void Elf_files_read_sequentially_and_at_random_are_the_bytes_stored_and_were_prefetched()
    {
        using var scratch = new TempDirectory("fuse-prefetch");
        var files = new Dictionary<string, byte[]> { ["a.so"] = ElfLike(6, 1), ["b.so"] = ElfLike(9, 2), ["c.so"] = ElfLike(4, 3) };
        using var mount = new ServedMount(Image(scratch, files));

        // Sequential: the first READ starts the prefetch of the rest while cat goes on.
        File.ReadAllBytes(mount.Combine("a.so")).Should().Equal(files["a.so"]);
        // At random, as the dynamic loader's page faults come: the first bytes, then anywhere, from parallel readers.
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var readers = Enumerable.Range(0, 8).Select(i => new Thread(() =>
        {
            string name = i % 2 == 0 ? "b.so" : "c.so";
            byte[] expected = files[name];
            using var handle = File.OpenHandle(mount.Combine(name));
            var random = new Random(i);
            var buffer = new byte[4096 + 8191 * (i % 3)];
            for (int k = 0; k < 64; k++)
            {
                long offset = k == 0 ? 0 : random.NextInt64(expected.Length);
                int n = RandomAccess.Read(handle, buffer, offset);
                if (n != Math.Min(buffer.Length, expected.Length - offset) || !buffer.AsSpan(0, n).SequenceEqual(expected.AsSpan((int)offset, n)))
                    failures.Add($"{name} at {offset}");
            }
        })).ToList();
        readers.ForEach(t => t.Start());
        readers.ForEach(t => t.Join());

        failures.Should().BeEmpty();
        mount.Served.PrefetchedBlocks.Should().BeGreaterThan(0, "the first READ of each file queues its other blocks");
        // Whatever was prefetched and not yet read now comes from the cache: a full hash of each file still matches.
        foreach ((string name, byte[] content) in files)
            SHA256.HashData(File.ReadAllBytes(mount.Combine(name))).Should().Equal(SHA256.HashData(content));
    }

    [Fact]
    public void A_corrupt_block_met_by_the_prefetch_is_EIO_for_its_file_and_the_server_serves_on()
    {
        using var scratch = new TempDirectory("fuse-prefetch-corrupt");
        var files = new Dictionary<string, byte[]> { ["a-damaged.so"] = ElfLike(8, 4), ["b-intact.txt"] = "intact\n"u8.ToArray() };
        string image = Image(scratch, files);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            // The first file's blocks come first, right after the 96-byte superblock: block 0 raw, block 1 damaged.
            stream.Position = 96 + BlockSize + 40;
            stream.Write(Enumerable.Repeat((byte)0xA5, 300).ToArray());
        }
        using var mount = new ServedMount(image);

        using (var handle = File.OpenHandle(mount.Combine("a-damaged.so")))
        {
            var head = new byte[4096];
            RandomAccess.Read(handle, head, 0).Should().Be(head.Length);
            head.Should().Equal(files["a-damaged.so"].AsSpan(0, head.Length).ToArray());
        }
        // The prefetch meets the damaged block, skips it and loads the intact ones after it.
        SpinWait.SpinUntil(() => mount.Served.PrefetchedBlocks >= 7, TimeSpan.FromSeconds(30)).Should().BeTrue();
        RunResult damaged = Run.Program("cat", [mount.Combine("a-damaged.so")]);

        damaged.ExitCode.Should().NotBe(0);
        damaged.Stderr.Should().Contain("Input/output error");
        File.ReadAllText(mount.Combine("b-intact.txt")).Should().Be("intact\n");
        Directory.GetFiles(mount.Directory).Should().HaveCount(2);
    }
}
