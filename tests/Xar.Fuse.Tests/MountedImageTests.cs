using System.Diagnostics;
using System.Security.Cryptography;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Reading;
using Xar.SquashFs.Tests.Reading;
using Xar.SquashFs.Tests.Support;
using Xar.SquashFs.Writing;

namespace Xar.Fuse.Tests;

/// <summary>
/// Images served by our FUSE server under the kernel, checked against unsquashfs' extraction of
/// the same image: every path's type, mode, owner, size, content, mtime, symlink target, device
/// number and hard-link group (from st_ino), and the xattrs as getfattr sees them.
/// </summary>
public class MountedImageTests
{
    /// <summary>The rich tree by our writer (xattrs, owners, 64 KiB blocks, fragments) and by mksquashfs (gzip, 128 KiB).</summary>
    public static TheoryData<string> Images() => ["ours", "mksquashfs"];

    private static readonly Lazy<string> WriterImage = new(() =>
    {
        string image = ImageCache.Combine($"fuse-writer-{Guid.NewGuid():N}.sqfs");
        SquashFsWriter.CreateImage(ImageOptions.RichTree, image, new SquashFsWriterOptions
        {
            Compression = CompressionSettings.For(CompressionAlgorithm.Zstd),
            BlockSize = 65536,
            UseFragments = true,
            KeepOwners = true,
            Xattrs = true,
        });
        return image;
    });

    internal static string Image(string maker) => maker == "ours" ? WriterImage.Value : ImageOptions.RichImage("-comp gzip -b 131072");

    [Theory]
    [MemberData(nameof(Images))]
    public void The_mount_shows_what_unsquashfs_extracts(string maker)
    {
        string image = Image(maker);
        using var mount = new ServedMount(image);

        TreeSnapshot.Capture(mount.Directory, withOwners: true)
            .ShouldMatch(TreeSnapshot.Capture(ImageCache.Unsquashed(image), withOwners: true), compareRoot: false);
        Getfattr(mount.Directory).Should().Be(Getfattr(ImageCache.Unsquashed(image))).And.Contain("user.big");
    }

    [Fact]
    public void Hard_links_share_one_inode_number_and_the_image_numbers_are_kept()
    {
        using var mount = new ServedMount(Image("ours"));
        using var image = SquashFsImage.Open(Image("ours"));

        string[] inodes = Run.Checked("stat", ["-c", "%i %h", mount.Combine("hard", "a"), mount.Combine("hard", "b"), mount.Combine("other", "c")])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        inodes.Should().AllBe($"{image.GetEntry("hard/a").InodeNumber} 3");
    }

    [Fact]
    public void Statfs_reports_the_image_block_size_and_inode_count()
    {
        using var image = SquashFsImage.Open(Image("mksquashfs"));
        using var mount = new ServedMount(Image("mksquashfs"));

        string[] fields = Run.Checked("stat", ["-f", "-c", "%S %c %T %l", mount.Directory]).Split(' ', StringSplitOptions.TrimEntries);
        fields.Should().Equal(image.BlockSize.ToString(), image.InodeCount.ToString(), "fuseblk", "256");
        Run.Program("touch", [mount.Combine("new-file")]).Stderr.Should().Contain("Read-only file system");
    }

    [Fact]
    public void Thirty_two_parallel_readers_see_the_right_bytes()
    {
        string image = Image("ours");
        using var mount = new ServedMount(image);
        string extracted = ImageCache.Unsquashed(image);
        string[] files = ["blocks/random-2.5M.bin", "blocks/text-600k.txt", "blocks/odd-70000.bin", "sparse/holes.bin", "dup/random-copy.bin", "small.txt"];
        var expected = files.ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(extracted, f)))));

        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var readers = Enumerable.Range(0, 32).Select(i => new Thread(() =>
        {
            // Each reader starts at another file and reads in an odd chunk size, so requests interleave.
            for (int k = 0; k < files.Length; k++)
            {
                string file = files[(i + k) % files.Length];
                using var stream = new FileStream(mount.Combine(file), FileMode.Open, FileAccess.Read, FileShare.Read, 1);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[7919 * (1 + i % 5)];
                int n;
                while ((n = stream.Read(buffer)) > 0)
                    hash.AppendData(buffer, 0, n);
                string got = Convert.ToHexString(hash.GetHashAndReset());
                if (got != expected[file])
                    failures.Add($"reader {i}: {file}");
            }
        })).ToList();
        readers.ForEach(t => t.Start());
        readers.ForEach(t => t.Join());

        failures.Should().BeEmpty();
    }

    [Fact]
    public void Names_attributes_and_misses_are_cached_by_the_kernel()
    {
        using var mount = new ServedMount(Image("ours"));

        // A listing with attributes (READDIRPLUS) then stats of every entry: no LOOKUP or GETATTR each.
        Run.Checked("ls", ["-l", mount.Combine("big")]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(701);
        int lookups = mount.FileSystem.Lookups;
        int getattrs = mount.FileSystem.GetAttributeCalls;
        foreach (string file in Directory.EnumerateFiles(mount.Combine("big")))
            new FileInfo(file).Length.Should().BeGreaterThan(0);
        mount.FileSystem.Lookups.Should().Be(lookups);
        mount.FileSystem.GetAttributeCalls.Should().Be(getattrs);

        // A miss is remembered: asking again does not reach the server.
        File.Exists(mount.Combine("no-such-file")).Should().BeFalse();
        lookups = mount.FileSystem.Lookups;
        for (int i = 0; i < 5; i++)
            File.Exists(mount.Combine("no-such-file")).Should().BeFalse();
        mount.FileSystem.Lookups.Should().Be(lookups);

        // File content stays in the page cache across opens.
        File.ReadAllBytes(mount.Combine("blocks", "text-600k.txt"));
        int reads = mount.FileSystem.Reads;
        File.ReadAllBytes(mount.Combine("blocks", "text-600k.txt"));
        mount.FileSystem.Reads.Should().Be(reads);
    }

    [Fact]
    public void A_ten_thousand_entry_directory_is_listed_whole_once_per_pass_and_then_from_the_kernels_cache()
    {
        using var source = new TempDirectory("fuse-wide");
        string wide = source.Combine("tree", "wide");
        Directory.CreateDirectory(wide);
        // Names of varied lengths, so entries straddle the kernel's page-sized READDIR buffers.
        var names = Enumerable.Range(0, 10_000).Select(i => $"entry-{i:D5}" + new string('x', i % 37)).ToList();
        foreach (string name in names)
            File.WriteAllBytes(Path.Combine(wide, name), []);
        string image = source.Combine("wide.sqfs");
        SquashFsWriter.CreateImage(source.Combine("tree"), image);
        using var mount = new ServedMount(image);

        Directory.EnumerateFileSystemEntries(mount.Combine("wide")).Select(Path.GetFileName).Should().BeEquivalentTo(names);
        mount.Served.Listings.Should().Be(1, "the pages of one pass share one listing, and its last, empty request needs none");

        int requests = mount.FileSystem.ReadDirectoryCalls;
        Directory.EnumerateFileSystemEntries(mount.Combine("wide")).Should().HaveCount(names.Count);
        mount.FileSystem.ReadDirectoryCalls.Should().Be(requests, "the kernel keeps the listing (no OPENDIR, or FOPEN_CACHE_DIR)");
    }

    [Fact]
    public void Closing_files_costs_no_flush_requests()
    {
        using var mount = new ServedMount(Image("ours"));
        const uint flush = 25;

        File.ReadAllBytes(mount.Combine("blocks", "text-600k.txt"));
        // Not "exactly one": the kernel flushes on every close of a descriptor, and a process the
        // test host forks meanwhile (tests run in parallel) closes its copy at exec, so two FLUSH
        // requests can be in flight before the first ENOSYS arrives. And settled: a request is
        // counted after its reply is written, which is when close(2) returns.
        long afterFirstClose = SettledCount(mount, flush);
        for (int i = 0; i < 5; i++)
            File.ReadAllBytes(mount.Combine("blocks", "text-600k.txt"));

        SettledCount(mount, flush).Should().Be(afterFirstClose, "FLUSH is answered ENOSYS once, and the kernel stops sending it");
        const uint read = 15;
        mount.Session.Statistics.Count(read).Should().BeGreaterThan(0, "the requests are counted");
    }

    /// <summary>The server's count of <paramref name="opcode"/> once it has not changed for 50 ms (at most 2 s).</summary>
    private static long SettledCount(ServedMount mount, uint opcode)
    {
        long count = mount.Session.Statistics.Count(opcode);
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(2);)
        {
            Thread.Sleep(50);
            long now = mount.Session.Statistics.Count(opcode);
            if (now == count)
                break;
            count = now;
        }
        return count;
    }

    [Fact]
    public void A_user_mount_through_fusermount3_serves_the_same_tree()
    {
        string image = Image("mksquashfs");
        using var mount = new ServedMount(image, viaFusermount: true);

        File.ReadAllLines("/proc/self/mounts").Should().Contain(line => line.Contains(" " + mount.Directory + " fuse.xar ro,nosuid,nodev"));
        TreeSnapshot.Capture(mount.Directory, withOwners: true)
            .ShouldMatch(TreeSnapshot.Capture(ImageCache.Unsquashed(image), withOwners: true), compareRoot: false);
    }

    [Fact]
    public void A_lazy_unmount_keeps_open_files_readable_and_ends_the_server_when_they_close()
    {
        string image = Image("ours");
        using var mount = new ServedMount(image);
        byte[] expected = File.ReadAllBytes(Path.Combine(ImageCache.Unsquashed(image), "blocks", "random-2.5M.bin"));

        using (var open = new FileStream(mount.Combine("blocks", "random-2.5M.bin"), FileMode.Open, FileAccess.Read))
        {
            Run.Checked("umount", ["-l", mount.Directory]);
            Mounts.IsMountPoint(mount.Directory).Should().BeFalse();
            var content = new MemoryStream();
            open.CopyTo(content);
            content.ToArray().AsSpan().SequenceEqual(expected).Should().BeTrue();
            mount.Ended(TimeSpan.FromMilliseconds(200)).Should().BeFalse("the file is still open");
        }
        mount.Ended(TimeSpan.FromSeconds(30)).Should().BeTrue();
    }

    /// <summary>getfattr's dump of every attribute below <paramref name="root"/>, paths relative to it, one file per block in path order (getfattr follows readdir order).</summary>
    private static string Getfattr(string root) =>
        string.Join("\n\n", Run.Checked("getfattr", ["-R", "-h", "-d", "-m", "-", "-e", "hex", "."], workingDirectory: root)
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal));
}
