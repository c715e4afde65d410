using System.Security.Cryptography;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Tests.Reading;
using Xar.SquashFs.Writing;

namespace Xar.Fuse.Tests;

/// <summary>
/// The prefetch of ELF files under the kernel (<see cref="BlockPrefetch"/>): what it decompresses
/// ahead is what the READs return, it stays inside the file's blocks, and a corrupt block it meets
/// is EIO for the READ that needs it, not the end of the server. With store notifications
/// (FUSE_NOTIFY_STORE), what it pushes into the page cache is the file's bytes, up to its end,
/// never a block that failed to load, and only for the files it prefetches.
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

    /// <summary>An image of "a-damaged.so" (ELF-like, its block 1 damaged; returned as written) and "b-intact.txt".</summary>
    private static (string Image, byte[] DamagedFile) ImageWithADamagedBlock(TempDirectory scratch, int seed)
    {
        byte[] damagedFile = ElfLike(8, seed);
        string image = Image(scratch, new() { ["a-damaged.so"] = damagedFile, ["b-intact.txt"] = "intact\n"u8.ToArray() });
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        // The first file's blocks come first, right after the 96-byte superblock: block 0 raw, block 1 damaged.
        stream.Position = 96 + BlockSize + 40;
        stream.Write(Enumerable.Repeat((byte)0xA5, 300).ToArray());
        return (image, damagedFile);
    }

    [Fact]
    public void Elf_files_read_sequentially_and_at_random_are_the_bytes_stored_and_were_prefetched()
    {
        using var scratch = new TempDirectory("fuse-prefetch");
        var files = new Dictionary<string, byte[]> { ["a.so"] = ElfLike(6, 1), ["b.so"] = ElfLike(9, 2), ["c.so"] = ElfLike(4, 3) };
        using var mount = new ServedMount(Image(scratch, files));

        // The first READ of a file queues its other blocks, which the workers decompress while nothing
        // else reads them (below, the READs may take every block before a worker does).
        using (var handle = File.OpenHandle(mount.Combine("b.so")))
            RandomAccess.Read(handle, new byte[4096], 0).Should().Be(4096);
        SpinWait.SpinUntil(() => mount.Served.PrefetchedBlocks > 0, TimeSpan.FromSeconds(30)).Should().BeTrue("the first READ of each file queues its other blocks");
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
        // Whatever was prefetched and not yet read now comes from the cache: a full hash of each file still matches.
        foreach ((string name, byte[] content) in files)
            SHA256.HashData(File.ReadAllBytes(mount.Combine(name))).Should().Equal(SHA256.HashData(content));
    }

    [Fact]
    public void A_corrupt_block_met_by_the_prefetch_is_EIO_for_its_file_and_the_server_serves_on()
    {
        using var scratch = new TempDirectory("fuse-prefetch-corrupt");
        (string image, byte[] damagedFile) = ImageWithADamagedBlock(scratch, 4);
        using var mount = new ServedMount(image);

        using (var handle = File.OpenHandle(mount.Combine("a-damaged.so")))
        {
            var head = new byte[4096];
            RandomAccess.Read(handle, head, 0).Should().Be(head.Length);
            head.Should().Equal(damagedFile.AsSpan(0, head.Length).ToArray());
        }
        // The prefetch meets the damaged block, skips it and loads the intact ones after it.
        SpinWait.SpinUntil(() => mount.Served.PrefetchedBlocks >= 7, TimeSpan.FromSeconds(30)).Should().BeTrue();
        RunResult damaged = Run.Program("cat", [mount.Combine("a-damaged.so")]);

        damaged.ExitCode.Should().NotBe(0);
        damaged.Stderr.Should().Contain("Input/output error");
        File.ReadAllText(mount.Combine("b-intact.txt")).Should().Be("intact\n");
        Directory.GetFiles(mount.Directory).Should().HaveCount(2);
    }

    /// <summary>Waits until the prefetch's count of decompressed blocks stops growing; returns it.</summary>
    private static int PrefetchSettled(SquashFsFileSystem fileSystem, int atLeast)
    {
        SpinWait.SpinUntil(() => fileSystem.PrefetchedBlocks >= atLeast, TimeSpan.FromSeconds(30));
        int loaded;
        do
        {
            loaded = fileSystem.PrefetchedBlocks;
            Thread.Sleep(200);
        }
        while (fileSystem.PrefetchedBlocks != loaded);
        return loaded;
    }

    /// <summary>
    /// A start file (the daemon's start set) is prefetched as far as every start reads it: a bundle's
    /// head decompresses the blocks holding its first bytes and no more, a small file its fragment.
    /// </summary>
    [Fact]
    public void A_start_files_prefetch_decompresses_the_blocks_of_its_first_bytes_and_a_small_files_fragment()
    {
        using var scratch = new TempDirectory("fuse-prefetch-head");
        var text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 6 * BlockSize / 12).Select(i => $"line {i,6}\n")));
        string path = Image(scratch, new() { ["bundle"] = [.. text, .. new byte[1000]], ["small.pyc"] = new byte[1000] });
        using var image = SquashFs.Reading.SquashFsImage.Open(path);
        using var fileSystem = new SquashFsFileSystem(image, prefetchWorkers: 2);

        fileSystem.Prefetch(image.GetEntry("bundle"), 2L * BlockSize + 1);
        PrefetchSettled(fileSystem, 3).Should().Be(3, "blocks 0, 1 and 2 hold the first 2 blocks and 1 byte");

        fileSystem.Prefetch(image.GetEntry("small.pyc"), 1000);
        PrefetchSettled(fileSystem, 4).Should().Be(4, "the small file's fragment block");
        fileSystem.Prefetch(image.GetEntry("bundle"), long.MaxValue);
        PrefetchSettled(fileSystem, 7).Should().Be(7, "the rest of its 6 blocks, not its tail: that fragment block is the small file's, cached already");
    }

    /// <summary>Waits until the stores stop growing (the prefetch is done); returns the bytes stored.</summary>
    private static long StoresSettled(ServedMount mount, long atLeast)
    {
        SpinWait.SpinUntil(() => mount.Notifier!.StoredBytes >= atLeast, TimeSpan.FromSeconds(30));
        long stored;
        do
        {
            stored = mount.Notifier!.StoredBytes;
            Thread.Sleep(200);
        }
        while (mount.Notifier.StoredBytes != stored);
        return stored;
    }

    [Fact]
    public void An_elf_file_stored_on_its_first_read_is_read_from_the_page_cache_as_unsquashfs_extracts_it()
    {
        using var scratch = new TempDirectory("fuse-store");
        var files = new Dictionary<string, byte[]> { ["a.so"] = ElfLike(6, 5), ["b.txt"] = "not stored\n"u8.ToArray() };
        string image = Image(scratch, files);
        byte[] extracted = File.ReadAllBytes(Path.Combine(ImageCache.Unsquashed(image), "a.so"));
        using var mount = new ServedMount(image, stores: true);

        using (var handle = File.OpenHandle(mount.Combine("a.so")))
            RandomAccess.Read(handle, new byte[4096], 0).Should().Be(4096);
        // Every byte of the file, its fragment tail included, and not one more.
        StoresSettled(mount, extracted.Length).Should().Be(extracted.Length);
        int readsBefore = mount.FileSystem.Reads;

        File.ReadAllBytes(mount.Combine("a.so")).Should().Equal(extracted);
        mount.FileSystem.Reads.Should().Be(readsBefore, "the stored pages answer the reads: no READ reaches the server");
        new FileInfo(mount.Combine("a.so")).Length.Should().Be(extracted.Length, "a store never grows the file");
        using (var handle = File.OpenHandle(mount.Combine("a.so")))
            RandomAccess.Read(handle, new byte[4096], extracted.Length).Should().Be(0);
        File.ReadAllText(mount.Combine("b.txt")).Should().Be("not stored\n");
        mount.Notifier!.StoredBytes.Should().Be(extracted.Length, "only ELF files are stored");
    }

    [Fact]
    public void A_corrupt_block_is_never_stored_its_read_is_EIO_and_the_server_serves_on()
    {
        using var scratch = new TempDirectory("fuse-store-corrupt");
        (string image, byte[] expected) = ImageWithADamagedBlock(scratch, 6);
        using var mount = new ServedMount(image, stores: true);

        using (var handle = File.OpenHandle(mount.Combine("a-damaged.so")))
            RandomAccess.Read(handle, new byte[4096], 0).Should().Be(4096);
        StoresSettled(mount, expected.Length - BlockSize).Should().Be(expected.Length - BlockSize, "every block but the damaged one");

        using (var handle = File.OpenHandle(mount.Combine("a-damaged.so")))
        {
            var buffer = new byte[4096];
            RandomAccess.Read(handle, buffer, 2 * BlockSize).Should().Be(buffer.Length);
            buffer.Should().Equal(expected.AsSpan(2 * BlockSize, buffer.Length).ToArray());
        }
        RunResult damaged = Run.Program("dd", [$"if={mount.Combine("a-damaged.so")}", "of=/dev/null", $"bs={BlockSize}", "skip=1", "count=1"]);
        damaged.ExitCode.Should().NotBe(0);
        damaged.Stderr.Should().Contain("Input/output error");
        File.ReadAllText(mount.Combine("b-intact.txt")).Should().Be("intact\n");
    }

    [Fact]
    public void An_elf_file_larger_than_the_prefetch_limit_is_not_stored()
    {
        using var scratch = new TempDirectory("fuse-store-large");
        byte[] large = ElfLike((int)(SquashFsFileSystem.PrefetchedElfBytes / BlockSize) + 1, 7);
        using var mount = new ServedMount(Image(scratch, new() { ["large.so"] = large }), stores: true);

        File.ReadAllBytes(mount.Combine("large.so")).Should().Equal(large);

        mount.Notifier!.StoredBytes.Should().Be(0, "the page cache holds what was read, nothing more is pushed");
    }
}
