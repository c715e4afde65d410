using System.Buffers.Binary;
using System.Diagnostics;
using Xar.SquashFs.Reading;
using Xunit.Abstractions;

namespace Xar.SquashFs.Tests.Reading;

public class ReadingCorruptionTests(ITestOutputHelper output)
{
    private const string CompressedFuzz = "-b 4K";
    private const string UncompressedFuzz = "-b 4K -noI -noD -noF -noX";
    private const string Crafted = "-noI -noD -noF -noX -no-xattrs";

    private static string FuzzImage(string options) => ImageCache.Image(TestTrees.FuzzTreeName, TestTrees.BuildFuzz, options);
    private static string CraftedImage() => ImageCache.Image(TestTrees.CraftedTreeName, TestTrees.BuildCrafted, Crafted);

    [Theory]
    [InlineData(CompressedFuzz)]
    [InlineData(UncompressedFuzz)]
    public void The_unmodified_fuzz_images_read_and_extract_cleanly(string options)
    {
        using var scratch = new TempDirectory("fuzz", inMemory: true);
        Hostile.Exercise(FuzzImage(options), scratch.Combine("out"));
        Directory.EnumerateFileSystemEntries(scratch.Combine("out"), "*", SearchOption.AllDirectories).Should().HaveCountGreaterThan(300);
    }

    [Theory]
    [InlineData(CompressedFuzz, 150)]
    [InlineData(UncompressedFuzz, 400)]
    [InlineData("-b 4K -comp zstd", 60)]
    [InlineData("-b 4K -comp xz", 60)]
    [InlineData("-b 4K -comp lz4", 60)]
    [InlineData("-b 4K -comp lzo", 60)]
    [InlineData("-b 4K -comp lzma", 60)]
    public void Flipped_bytes_in_every_region_fail_only_with_SquashFsException(string options, int iterationsPerRegion)
    {
        string image = FuzzImage(options);
        byte[] original = File.ReadAllBytes(image);
        var regions = Hostile.Regions(original);
        regions.Select(r => r.Name).Should().Contain(["superblock", "data", "inode table", "directory table", "fragment table", "export table", "id table", "xattr tables"]);
        using var scratch = new TempDirectory("fuzz", inMemory: true);
        var problems = new List<string>();
        int failures = 0, successes = 0;

        for (int r = 0; r < regions.Count; r++)
        {
            var region = regions[r];
            for (int iteration = 0; iteration < iterationsPerRegion; iteration++)
            {
                // Deterministic (string hashes are randomised per process), so a failure can be replayed.
                int seed = Seed(options, r, iteration);
                var random = new Random(seed);
                byte[] corrupt = (byte[])original.Clone();
                int flips = random.Next(1, 5);
                for (int f = 0; f < flips; f++)
                {
                    int at = region.Start + random.Next(region.Length);
                    corrupt[at] ^= (byte)(1 << random.Next(8));
                    if (random.Next(4) == 0) corrupt[at] = (byte)random.Next(256);
                }
                string path = scratch.Combine($"{iteration}.sqfs");
                File.WriteAllBytes(path, corrupt);
                var outcome = Hostile.Check(path, scratch.Combine($"{iteration}-out"));
                if (outcome.Problem is not null) problems.Add($"{region.Name} #{iteration} (seed {seed}, {flips} flips): {outcome.Problem}");
                else if (outcome.Failed) failures++;
                else successes++;
                File.Delete(path);
                scratch.Delete($"{iteration}-out");
            }
        }

        output.WriteLine($"{options}: {failures} detected, {successes} read and extracted, {problems.Count} problems");
        problems.Take(10).Should().BeEmpty($"{problems.Count} of {regions.Count * iterationsPerRegion} corrupted images misbehaved");
        successes.Should().BeGreaterThan(0, "flips in file data go unnoticed when data is stored uncompressed");
        failures.Should().BeGreaterThan(regions.Count * iterationsPerRegion / 10, "most corruptions are detected");
    }

    private static int Seed(string options, int region, int iteration) =>
        options.Aggregate(17, (hash, c) => unchecked(hash * 31 + c)) ^ (region * 100_003 + iteration);

    /// <summary>gzip blocks carry an Adler-32, so corrupt data is always detected (zstd frames from mksquashfs have no checksum).</summary>
    [Fact]
    public void Corrupt_data_found_by_parallel_workers_surfaces_as_one_SquashFsException()
    {
        byte[] original = File.ReadAllBytes(FuzzImage(CompressedFuzz));
        var data = Hostile.Regions(original).Single(r => r.Name == "data");
        using var scratch = new TempDirectory("workers", inMemory: true);
        for (int i = 0; i < 20; i++)
        {
            byte[] corrupt = (byte[])original.Clone();
            var random = new Random(i);
            for (int at = data.Start; at < data.Start + data.Length; at += random.Next(1, 2000)) corrupt[at] ^= 0x55;
            string path = scratch.Combine($"{i}.sqfs");
            File.WriteAllBytes(path, corrupt);

            using var reader = SquashFsImage.Open(path);
            var extract = () => reader.ExtractTo(scratch.Combine($"out-{i}"), new ExtractOptions { MaxDegreeOfParallelism = 4 });

            extract.Should().Throw<SquashFsException>().WithMessage("*file '/*");
        }
    }

    [Fact]
    public void Truncated_images_are_rejected_at_open()
    {
        string image = FuzzImage(CompressedFuzz);
        byte[] original = File.ReadAllBytes(image);
        using var scratch = new TempDirectory("truncated");
        long bytesUsed = (long)BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(40));
        foreach (long length in new long[] { 0, 1, 4, 95, 96, 97, 500, bytesUsed / 3, bytesUsed / 2, bytesUsed - 100, bytesUsed - 1 })
        {
            string path = scratch.Combine($"cut-{length}");
            File.WriteAllBytes(path, original.AsSpan(0, (int)length).ToArray());
            var open = () => SquashFsImage.Open(path);
            open.Should().Throw<SquashFsException>($"cut at {length}");
        }
    }

    [Fact]
    public void Truncated_images_with_a_matching_bytes_used_fail_only_with_SquashFsException()
    {
        byte[] original = File.ReadAllBytes(FuzzImage(UncompressedFuzz));
        using var scratch = new TempDirectory("fuzz", inMemory: true);
        var problems = new List<string>();
        long bytesUsed = (long)BinaryPrimitives.ReadUInt64LittleEndian(original.AsSpan(40));
        for (long length = 97; length < bytesUsed; length += Math.Max(1, bytesUsed / 150))
        {
            var cut = original.AsSpan(0, (int)length).ToArray();
            BinaryPrimitives.WriteUInt64LittleEndian(cut.AsSpan(40), (ulong)length);
            string path = scratch.Combine($"cut-{length}");
            File.WriteAllBytes(path, cut);
            var outcome = Hostile.Check(path, scratch.Combine($"out-{length}"));
            if (outcome.Problem is not null) problems.Add($"cut at {length}: {outcome.Problem}");
            outcome.Failed.Should().BeTrue($"a cut at {length} of {bytesUsed} loses a table");
        }
        problems.Should().BeEmpty();
    }

    public static TheoryData<string, int, ulong, string> SuperblockPatches() => new()
    {
        { "inode table after the end", 64, ulong.MaxValue / 2, "table positions" },
        { "directory table before the inode table", 72, 97, "table positions" },
        { "id index at 0", 48, 0, "id table" },
        { "id index at the very end", 48, ulong.MaxValue, "table positions" },
        { "export index inside the superblock", 88, 40, "export table" },
        { "xattr header past the end", 56, ulong.MaxValue - 1, "xattr" },
        { "root reference beyond the inode table", 32, 0xFFFF_0000, "inode reference" },
        { "root reference offset beyond its block", 32, 0x1FFF, "offset" },
        { "no inodes", 4, 0, "inode_count" },
        { "block size not a power of two", 12, 3000, "block size" },
        { "bytes_used beyond the file", 40, 1UL << 40, "bytes_used" },
    };

    [Theory]
    [MemberData(nameof(SuperblockPatches))]
    public void Bad_superblock_fields_are_reported(string what, int offset, ulong value, string message)
    {
        var patcher = new ImagePatcher(CraftedImage());
        int size = offset is 4 or 12 ? 4 : 8;
        if (size == 4) patcher.WriteUInt32(offset, (uint)value);
        else patcher.WriteUInt64(offset, value);
        using var scratch = new TempDirectory("superblock");
        string path = patcher.Save(scratch);

        var open = () => Hostile.Exercise(path, scratch.Combine("out"));

        open.Should().Throw<SquashFsException>(what).WithMessage($"*{message}*");
    }

    [Theory]
    [InlineData("fragment", 80, "fragment table")]
    [InlineData("export", 88, "export table")]
    [InlineData("id", 48, "id table")]
    public void Lookup_table_indexes_pointing_outside_their_table_are_reported(string table, int superblockField, string message)
    {
        var patcher = new ImagePatcher(CraftedImage());
        long index = (long)patcher.ReadUInt64(superblockField);
        using var scratch = new TempDirectory("index");
        foreach (ulong bad in new ulong[] { 0, 96, (ulong)index, (ulong)index + 100, ulong.MaxValue })
        {
            patcher.WriteUInt64(index, bad);
            string path = patcher.Save(scratch, $"{table}-{bad}.sqfs");
            var open = () => Hostile.Exercise(path, scratch.Combine($"out-{bad}"));
            open.Should().Throw<SquashFsException>($"{table} index entry = {bad}").WithMessage($"*{message}*");
        }
    }

    [Fact]
    public void Fragment_entries_outside_the_data_area_are_reported()
    {
        var patcher = new ImagePatcher(CraftedImage());
        long fragmentBlock = (long)patcher.ReadUInt64((long)patcher.ReadUInt64(80));
        patcher.WriteUInt64(fragmentBlock + 2, patcher.ReadUInt64(64)); // fragment 0 starts at the inode table
        using var scratch = new TempDirectory("fragment");
        string path = patcher.Save(scratch);
        using var reader = SquashFsImage.Open(path);

        var read = () => reader.ReadFile(reader.GetEntry("tail.txt"), 0, new byte[10]);

        read.Should().Throw<SquashFsException>().WithMessage("*tail.txt*fragment table: entry 0*outside the data area*");
    }

    [Fact]
    public void A_directory_that_contains_itself_is_reported()
    {
        var patcher = new ImagePatcher(CraftedImage());
        patcher.Redirect("/self", "f", "/self");
        using var scratch = new TempDirectory("self");
        string path = patcher.Save(scratch);
        using var reader = SquashFsImage.Open(path);

        var list = () => reader.ListDirectory(reader.GetEntry("self"));
        list.Should().Throw<SquashFsException>().WithMessage("*listing of '/self'*is the directory itself*");
        var walk = () => reader.EnumerateTree().ToList();
        walk.Should().Throw<SquashFsException>();
        var extract = () => reader.ExtractTo(scratch.Combine("out"));
        extract.Should().Throw<SquashFsException>();
    }

    [Fact]
    public void A_directory_cycle_is_reported_by_walks_and_extraction()
    {
        var patcher = new ImagePatcher(CraftedImage());
        patcher.Redirect("/loop/sub", "back", "/loop");
        using var scratch = new TempDirectory("cycle");
        string path = patcher.Save(scratch);
        using var reader = SquashFsImage.Open(path);

        reader.Find("loop/sub/back/sub/back/sub")!.Path.Should().Be("/loop/sub/back/sub/back/sub", "a path walk is bounded by its components");
        var walk = () => reader.EnumerateTree().ToList();
        walk.Should().Throw<SquashFsException>().WithMessage("*'/loop/sub/back'*reached a second time*cycle*");
        var extract = () => reader.ExtractTo(scratch.Combine("out"));
        extract.Should().Throw<SquashFsException>().WithMessage("*cycle*");
        var extractSubtree = () => reader.ExtractTo(scratch.Combine("out2"), null, "loop/sub");
        extractSubtree.Should().Throw<SquashFsException>().WithMessage("*cycle*");
    }

    [Theory]
    [InlineData("/dotdot", "zz", "..", "relative path component")]
    [InlineData("/slash", "a_b", "a/b", "contains '/'")]
    [InlineData("/slash", "a_b", "a\0b", "NUL")]
    [InlineData("/dup", "y", "x", "does not sort after")]
    public void Unsafe_names_are_rejected(string directory, string name, string patched, string message)
    {
        var patcher = new ImagePatcher(CraftedImage());
        patcher.Rename(directory, name, System.Text.Encoding.UTF8.GetBytes(patched));
        using var scratch = new TempDirectory("names");
        string path = patcher.Save(scratch);
        using var reader = SquashFsImage.Open(path);
        var dir = reader.GetEntry(directory);

        var list = () => reader.ListDirectory(dir);
        list.Should().Throw<SquashFsException>().WithMessage($"*listing of '{directory}'*{message}*");
        var lookup = () => reader.Lookup(dir, "zzzz");
        lookup.Should().Throw<SquashFsException>();
        var extract = () => reader.ExtractTo(scratch.Combine("out"));
        extract.Should().Throw<SquashFsException>();
        File.Exists(scratch.Combine("a", "b")).Should().BeFalse();
    }

    [Fact]
    public void A_duplicate_name_cannot_route_extraction_through_a_symlink()
    {
        Directory.CreateDirectory(TestTrees.EscapeTarget);
        var patcher = new ImagePatcher(CraftedImage());
        patcher.Rename("/escape", "evim", "evil"u8.ToArray());
        using var scratch = new TempDirectory("escape");
        string path = patcher.Save(scratch);
        using var reader = SquashFsImage.Open(path);

        var extract = () => reader.ExtractTo(scratch.Combine("out"));
        extract.Should().Throw<SquashFsException>().WithMessage("*escape*does not sort after*");
        var extractSubtree = () => reader.ExtractTo(scratch.Combine("out2"), null, "escape");
        extractSubtree.Should().Throw<SquashFsException>();
        var throughLink = () => reader.ExtractTo(scratch.Combine("out3"), null, "escape/evil/pwned.txt");
        throughLink.Should().Throw<FileNotFoundException>("the lookup stops at the first 'evil', a symlink, which is not followed");

        Directory.EnumerateFileSystemEntries(TestTrees.EscapeTarget).Should().BeEmpty();
    }

    [Fact]
    public void The_escape_symlink_of_the_intact_image_is_extracted_as_a_symlink()
    {
        Directory.CreateDirectory(TestTrees.EscapeTarget);
        using var scratch = new TempDirectory("escape-intact");
        using var reader = SquashFsImage.Open(CraftedImage());

        reader.ExtractTo(scratch.Combine("out"));
        var throughLink = () => reader.ExtractTo(scratch.Combine("out2"), null, "escape/evil/pwned.txt");

        throughLink.Should().Throw<FileNotFoundException>("paths never continue through a symlink");
        new FileInfo(scratch.Combine("out", "escape", "evil")).LinkTarget.Should().Be(TestTrees.EscapeTarget);
        File.Exists(scratch.Combine("out", "escape", "evim", "pwned.txt")).Should().BeTrue();
        Directory.EnumerateFileSystemEntries(TestTrees.EscapeTarget).Should().BeEmpty();
    }

    [Theory]
    [InlineData("file size", 28, 0xFFFF_FFFFu, "block")]
    [InlineData("inode type", 0, 15u, "unknown inode type 15")]
    [InlineData("uid index", 4, 0xFFFFu, "id table")]
    [InlineData("fragment index", 20, 1000u, "fragment")]
    [InlineData("start block", 16, 0xFFFF_0000u, "inode table")]
    public void Hostile_file_inodes_fail_fast(string what, int field, uint value, string message)
    {
        var patcher = new ImagePatcher(CraftedImage());
        patcher.Entries["/blocks.bin"].InodeType.Should().Be(Format.InodeType.File);
        int inode = patcher.InodeOffset("/blocks.bin");
        if (field == 0 || field == 4) patcher.WriteUInt16(inode + field, (ushort)value);
        else patcher.WriteUInt32(inode + field, value);
        if (what == "fragment index") patcher.WriteUInt32(patcher.InodeOffset("/tail.txt") + field, value);
        using var scratch = new TempDirectory("inode");
        string path = patcher.Save(scratch);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();

        var exercise = () => Hostile.Exercise(path, scratch.Combine("out"));

        exercise.Should().Throw<SquashFsException>(what).WithMessage($"*{message}*");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));
        (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore).Should().BeLessThan(64 << 20);
    }

    /// <summary>
    /// Issue 8: 2^31 blocks overflowed the int block count (OverflowException), 2^32 truncated it
    /// to 0 (NullReferenceException on read, an empty file extracted as success). The inode table
    /// is widened so that a bound on its size alone would let these counts through.
    /// </summary>
    [Theory]
    [InlineData(1L << 31)]
    [InlineData(1L << 32)]
    public void An_extended_file_inode_claiming_2_31_or_2_32_blocks_is_rejected(long blocks)
    {
        string original = FuzzImage(UncompressedFuzz);
        using var scratch = new TempDirectory("huge", inMemory: true);
        string path = scratch.Combine("huge.sqfs");
        File.WriteAllBytes(path, HostileImages.WithHugeFile(File.ReadAllBytes(original), original, "/random.bin", blocks));
        using var reader = SquashFsImage.Open(path);

        var find = () => reader.Find("random.bin");
        var walk = () => reader.EnumerateTree().ToList();
        var extract = () => reader.ExtractTo(scratch.Combine("out"));

        find.Should().Throw<SquashFsException>().WithMessage($"*'/random.bin'*needs {blocks} blocks of 4096 bytes*inode table*");
        walk.Should().Throw<SquashFsException>().WithMessage("*'/random.bin'*");
        extract.Should().Throw<SquashFsException>().WithMessage("*'/random.bin'*");
        File.Exists(scratch.Combine("out", "random.bin")).Should().BeFalse("nothing is created for a file whose inode is rejected");
    }

    /// <summary>
    /// An image with 180 KB of xattr values, room for thousands of entries naming one 60 KB value
    /// out of line. The tree is on tmpfs: ext4 keeps a file's xattrs within one block.
    /// </summary>
    private static string SharedXattrImage(TempDirectory scratch)
    {
        string tree = scratch.Combine("tree");
        Directory.CreateDirectory(tree);
        string f = Path.Combine(tree, "f"), g = Path.Combine(tree, "g");
        File.WriteAllText(f, "f");
        File.WriteAllText(g, "g");
        byte[] big = new byte[60_000];
        new Random(1).NextBytes(big);
        TestTrees.SetXattr(f, "user.big", big);
        TestTrees.SetXattr(g, "user.big", big);
        TestTrees.SetXattr(g, "user.pad1", new byte[60_000]);
        TestTrees.SetXattr(g, "user.pad2", Enumerable.Repeat((byte)1, 60_000).ToArray());
        string image = scratch.Combine("shared.sqfs");
        SquashFsTools.Mksquashfs(tree, image, "-noI -noD -noF -noX");
        return image;
    }

    [Fact]
    public void An_xattr_list_naming_one_out_of_line_value_many_times_reads_it_once()
    {
        using var scratch = new TempDirectory("shared-xattr", inMemory: true);
        string intact = SharedXattrImage(scratch);
        string path = scratch.Combine("hostile.sqfs");
        File.WriteAllBytes(path, HostileImages.WithSharedXattrValue(File.ReadAllBytes(intact), intact, 2000));
        using var reader = SquashFsImage.Open(path);
        var f = reader.GetEntry("f");
        long before = GC.GetAllocatedBytesForCurrentThread();

        var xattrs = reader.GetXattrs(f);

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(16 << 20, "2,000 names of one 60 KB value are not 120 MB");
        xattrs.Where(x => x.Value.Length == 60_000).Should().HaveCountGreaterThanOrEqualTo(2000);
    }

    [Fact]
    public void An_xattr_list_with_more_names_than_Linux_can_list_is_rejected()
    {
        using var scratch = new TempDirectory("shared-xattr", inMemory: true);
        string intact = SharedXattrImage(scratch);
        string path = scratch.Combine("hostile.sqfs");
        File.WriteAllBytes(path, HostileImages.WithSharedXattrValue(File.ReadAllBytes(intact), intact, 3500));
        using var reader = SquashFsImage.Open(path);

        var read = () => reader.GetXattrs(reader.GetEntry("f"));

        read.Should().Throw<SquashFsException>().WithMessage("*'/f'*names*more than the 65536 Linux lists*");
    }

    [Fact]
    public void A_symlink_target_with_a_NUL_byte_is_rejected()
    {
        var patcher = new ImagePatcher(CraftedImage());
        patcher.Bytes[patcher.InodeOffset("/link") + 24 + 2] = 0;
        using var scratch = new TempDirectory("symlink-nul");
        string path = patcher.Save(scratch);
        using var reader = SquashFsImage.Open(path);

        var find = () => reader.Find("link");

        find.Should().Throw<SquashFsException>().WithMessage("*'/link'*NUL*");
    }
}

/// <summary>Drives every reader API over a possibly corrupt image.</summary>
internal static class Hostile
{
    public readonly record struct Outcome(bool Failed, string? Problem);

    public readonly record struct Region(string Name, int Start, int Length);

    /// <summary>
    /// Uses every API: walk, reads, xattrs, lookups by path and number, and a full extraction
    /// (on the calling thread only, with one worker, so that its allocations can be measured).
    /// </summary>
    public static void Exercise(string image, string destination)
    {
        using var reader = SquashFsImage.Open(image);
        var buffer = new byte[1 << 16];
        foreach (var entry in reader.EnumerateTree())
        {
            reader.GetXattrs(entry);
            reader.Find(entry.Path);
            if (reader.HasExportTable) reader.LookupInode(entry.InodeNumber);
            switch (entry.Type)
            {
                case SquashFsEntryType.RegularFile:
                    long limit = Math.Min(entry.Size, 8 << 20);
                    for (long position = 0; position < limit; position += buffer.Length)
                        reader.ReadFile(entry, position, buffer);
                    reader.ReadFile(entry, Math.Max(0, entry.Size - 5000), buffer);
                    break;
                case SquashFsEntryType.Symlink:
                    reader.ReadLink(entry);
                    break;
                case SquashFsEntryType.Directory:
                    reader.Lookup(entry, "not-there");
                    break;
            }
        }
        reader.ExtractTo(destination, new ExtractOptions
        {
            RestoreOwners = true,
            RestoreXattrs = true,
            MaxDegreeOfParallelism = 1,
            Warning = (_, _) => { },
        });
    }

    /// <summary>
    /// Runs <see cref="Exercise"/> with time and allocation limits. A <see cref="SquashFsException"/>
    /// is a detected corruption; anything else (another exception, a hang, a huge allocation) is a
    /// problem. Allocation is counted on the exercising thread (tests run in parallel).
    /// </summary>
    public static Outcome Check(string image, string destination)
    {
        long allocated = 0;
        var run = Task.Run(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                Exercise(image, destination);
            }
            finally
            {
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
        });
        bool failed = false;
        try
        {
            if (!run.Wait(TimeSpan.FromSeconds(10)))
                return new Outcome(true, "did not finish within 10 s");
        }
        catch (AggregateException e) when (e.InnerException is SquashFsException { Message.Length: > 0 })
        {
            failed = true;
        }
        catch (AggregateException e) when (e.InnerException is IOException { HResult: NameTooLong })
        {
            // A valid 256-byte name (SquashFS allows 256, Linux 255) cannot be created.
            failed = true;
        }
        catch (AggregateException e)
        {
            var inner = e.InnerException!;
            return new Outcome(true, $"{inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}");
        }
        if (allocated > 256 << 20) return new Outcome(true, $"allocated {allocated >> 20} MiB");
        return new Outcome(failed, null);
    }

    private const int NameTooLong = 36;

    /// <summary>The image's regions in table order, from the superblock's positions.</summary>
    public static List<Region> Regions(byte[] image)
    {
        ulong U64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan((int)at));
        long inode = (long)U64(64), directory = (long)U64(72), bytesUsed = (long)U64(40);
        long fragmentIndex = (long)U64(80), exportIndex = (long)U64(88), idIndex = (long)U64(48), xattrHeader = (long)U64(56);
        long fragmentBlocks = (long)U64(fragmentIndex), exportBlocks = (long)U64(exportIndex), idBlocks = (long)U64(idIndex);
        long kvStart = (long)U64(xattrHeader);
        var regions = new List<Region>
        {
            new("superblock", 0, 96),
            new("data", 96, (int)(inode - 96)),
            new("inode table", (int)inode, (int)(directory - inode)),
            new("directory table", (int)directory, (int)(fragmentBlocks - directory)),
            new("fragment table", (int)fragmentBlocks, (int)(fragmentIndex + 8 - fragmentBlocks)),
            new("export table", (int)exportBlocks, (int)(exportIndex + 8 - exportBlocks)),
            new("id table", (int)idBlocks, (int)(idIndex + 8 - idBlocks)),
            new("xattr tables", (int)kvStart, (int)(bytesUsed - kvStart)),
        };
        return regions;
    }
}
