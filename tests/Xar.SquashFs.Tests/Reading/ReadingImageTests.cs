using System.Text;
using Microsoft.Win32.SafeHandles;
using Xar.SquashFs.Format;
using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

public class ReadingImageTests
{
    [Theory]
    [MemberData(nameof(ImageOptions.Mixes), MemberType = typeof(ImageOptions))]
    public void Listing_matches_unsquashfs_lln(string options)
    {
        string image = ImageOptions.RichImage(options);
        using var reader = SquashFsImage.Open(image);

        var ours = reader.EnumerateTree().Select(UnsquashfsListing.Format).ToArray();

        ours.Should().Equal(SquashFsTools.ListNumeric(image));
    }

    [Theory]
    [MemberData(nameof(ImageOptions.Mixes), MemberType = typeof(ImageOptions))]
    public void Every_file_reads_like_its_source_whole_and_in_random_ranges(string options)
    {
        string image = ImageOptions.RichImage(options);
        using var reader = SquashFsImage.Open(image);
        var random = new Random(7);
        int files = 0;
        foreach (var (relative, source) in SourceFiles(ImageOptions.RichTree))
        {
            var entry = reader.GetEntry(relative);
            entry.Type.Should().Be(SquashFsEntryType.RegularFile, relative);
            byte[] expected = File.ReadAllBytes(source);
            entry.Size.Should().Be(expected.Length, relative);

            using (var stream = reader.OpenRead(entry))
            {
                var whole = new MemoryStream();
                stream.CopyTo(whole);
                whole.ToArray().AsSpan().SequenceEqual(expected).Should().BeTrue($"{relative} read whole");
            }

            for (int i = 0; i < 8; i++)
            {
                long position = expected.Length == 0 ? 0 : random.NextInt64(expected.Length + 10);
                var buffer = new byte[random.Next(1, 300_000)];
                int read = reader.ReadFile(entry, position, buffer);
                int want = (int)Math.Clamp(expected.Length - position, 0, buffer.Length);
                read.Should().Be(want, $"{relative} at {position}");
                buffer.AsSpan(0, read).SequenceEqual(expected.AsSpan((int)Math.Min(position, expected.Length), want))
                    .Should().BeTrue($"{relative} bytes {position}+{read}");
            }
            files++;
        }
        files.Should().BeGreaterThan(700);
    }

    [Fact]
    public void Block_aligned_reads_cover_sparse_and_exact_multiple_files()
    {
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        foreach (var relative in new[] { "sparse/holes.bin", "sparse/all-holes.bin", "sparse/tail-hole.bin", "blocks/exact-1M.bin", "blocks/random-2.5M.bin" })
        {
            var entry = reader.GetEntry(relative);
            byte[] expected = File.ReadAllBytes(Path.Combine(ImageOptions.RichTree, relative));
            var actual = new byte[expected.Length];
            for (long position = 0; position < expected.Length; position += reader.BlockSize)
                reader.ReadFile(entry, position, actual.AsSpan((int)position, (int)Math.Min(reader.BlockSize, expected.Length - position)));
            actual.AsSpan().SequenceEqual(expected).Should().BeTrue(relative);
        }
    }

    [Fact]
    public void Describes_the_image_and_its_entries()
    {
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        string summary = Run.Checked("unsquashfs", ["-s", ImageOptions.RichImage("")]);

        summary.Should().Contain($"Number of inodes {reader.InodeCount}");
        summary.Should().Contain($"Number of fragments {reader.FragmentCount}");
        summary.Should().Contain($"Number of ids {reader.IdCount}");
        reader.BlockSize.Should().Be(131072);
        reader.CompressionSettings.Algorithm.Should().Be(Xar.SquashFs.Compression.CompressionAlgorithm.Gzip);
        reader.HasExportTable.Should().BeTrue();
        reader.Root.Path.Should().Be("/");
        reader.Root.Name.Should().BeEmpty();
        reader.Root.IsDirectory.Should().BeTrue();
        reader.Root.InodeNumber.Should().Be(reader.InodeCount);
        reader.Root.ParentInodeNumber.Should().Be(reader.InodeCount + 1);

        var small = reader.GetEntry("small.txt");
        small.Size.Should().Be(6);
        small.ModificationTimeSeconds.Should().Be(946_684_800);
        small.ModificationTime.Should().Be(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero));
        small.LinkCount.Should().Be(1);
        if (SquashFsTools.IsRoot)
        {
            small.Uid.Should().Be(1234);
            small.Gid.Should().Be(5678);
        }

        reader.GetEntry("blocks/exact-1M.bin").ModificationTimeSeconds.Should().Be(4_000_000_000, "mtimes are unsigned 32-bit");
        reader.GetEntry("perm/setuid").Permissions.Should().Be((UnixFileMode)Convert.ToInt32("4755", 8));
        reader.GetEntry("perm/sticky").Permissions.Should().Be((UnixFileMode)Convert.ToInt32("1777", 8));
        reader.GetEntry("perm/none").Permissions.Should().Be((UnixFileMode)0);

        var hard = new[] { "hard/a", "hard/b", "other/c" }.Select(reader.GetEntry).ToList();
        hard.Select(e => e.InodeNumber).Distinct().Should().ContainSingle();
        hard.Select(e => e.InodeReference).Distinct().Should().ContainSingle();
        hard.Should().OnlyContain(e => e.LinkCount == 3 && e.InodeType == InodeType.ExtendedFile);
        hard.Select(e => e.Path).Should().Equal("/hard/a", "/hard/b", "/other/c");

        var copies = new[] { "dup/copy1.txt", "dup/copy2.txt" }.Select(reader.GetEntry).ToList();
        copies[0].InodeNumber.Should().NotBe(copies[1].InodeNumber, "deduplicated files remain separate inodes");

        reader.GetEntry("日本語/ファイル.txt").NameBytes.ToArray().Should().Equal(Encoding.UTF8.GetBytes("ファイル.txt"));
        reader.GetEntry(TestTrees.LongName).Name.Should().HaveLength(255);
        reader.GetEntry("big").InodeType.Should().Be(InodeType.ExtendedDirectory, "its listing exceeds 8 KiB");
        reader.GetEntry("big").DirectoryIndexCount.Should().BeGreaterThan(0);
        reader.ListDirectory(reader.GetEntry("big")).Should().HaveCount(700);
        reader.GetEntry("d00/d01/d02").ParentInodeNumber.Should().Be(reader.GetEntry("d00/d01").InodeNumber);
    }

    [Fact]
    public void Symlinks_and_devices_decode()
    {
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));

        reader.ReadLink(reader.GetEntry("links/relative")).Should().Be("../small.txt");
        reader.ReadLink(reader.GetEntry("links/absolute")).Should().Be("/etc/hostname");
        reader.ReadLink(reader.GetEntry("links/dangling")).Should().Be("does/not/exist");
        var link = reader.GetEntry("links/directory");
        link.Type.Should().Be(SquashFsEntryType.Symlink);
        link.Size.Should().Be("../blocks".Length);
        link.SymlinkTargetBytes.ToArray().Should().Equal("../blocks"u8.ToArray());
        link.ModificationTimeSeconds.Should().NotBe(0);
        reader.GetEntry("links/relative").ModificationTimeSeconds.Should().Be(1_000_000_000);

        reader.GetEntry("special/fifo").Type.Should().Be(SquashFsEntryType.Fifo);
        reader.GetEntry("special/socket").Type.Should().Be(SquashFsEntryType.Socket);
        if (SquashFsTools.IsRoot)
        {
            var nul = reader.GetEntry("special/null");
            (nul.Type, nul.DeviceMajor, nul.DeviceMinor).Should().Be((SquashFsEntryType.CharacterDevice, 1u, 3u));
            var bigMinor = reader.GetEntry("special/big-minor");
            (bigMinor.DeviceMajor, bigMinor.DeviceMinor).Should().Be((300u, 70000u));
            var loop = reader.GetEntry("special/loop");
            (loop.Type, loop.DeviceMajor, loop.DeviceMinor).Should().Be((SquashFsEntryType.BlockDevice, 7u, 0u));
        }
    }

    [Fact]
    public void Paths_resolve_without_following_symlinks()
    {
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));

        reader.Find("/").Should().BeSameAs(reader.Root);
        reader.Find("").Should().BeSameAs(reader.Root);
        reader.Find("//blocks//exact-4k.bin/")!.Path.Should().Be("/blocks/exact-4k.bin");
        reader.Find("./blocks/../blocks/./exact-4k.bin")!.Path.Should().Be("/blocks/exact-4k.bin");
        reader.Find("../../small.txt")!.Path.Should().Be("/small.txt", "'..' at the root stays at the root");
        reader.Find("links/directory")!.Type.Should().Be(SquashFsEntryType.Symlink, "the final symlink is not followed");
        reader.Find("links/directory/exact-4k.bin").Should().BeNull("an intermediate symlink is not followed");
        reader.Find("small.txt/x").Should().BeNull("a file has no children");
        reader.Find("missing").Should().BeNull();
        reader.Find("big/entry-0001-with-a-fairly-long-name-to-fill-the-listing.txt").Should().NotBeNull();

        var missing = () => reader.GetEntry("blocks/missing.bin");
        missing.Should().Throw<FileNotFoundException>().WithMessage("*blocks/missing.bin*");
        reader.Lookup(reader.Root, "small.txt"u8)!.Path.Should().Be("/small.txt");
        reader.Lookup(reader.Root, ""u8).Should().BeNull();
        reader.Lookup(reader.Root, new byte[300]).Should().BeNull();
    }

    [Theory]
    [InlineData("")]
    [InlineData("-noI -noD -noF -noX")]
    [InlineData("-b 4K")]
    public void Lookup_through_the_directory_index_agrees_with_the_listing(string options)
    {
        using var reader = SquashFsImage.Open(ImageOptions.WideImage(options));
        var wide = reader.GetEntry("wide");
        wide.DirectoryIndexCount.Should().BeGreaterThan(10);
        var listing = reader.ListDirectory(wide);
        listing.Should().HaveCount(TestTrees.WideEntries + 1);
        listing.Select(e => e.NameBytes.ToArray()).Should().BeInAscendingOrder(Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)));

        foreach (var entry in listing)
        {
            var found = reader.Lookup(wide, entry.NameBytes.Span);
            found.Should().NotBeNull(entry.Name);
            found!.InodeReference.Should().Be(entry.InodeReference, entry.Name);
            reader.Lookup(wide, entry.Name + "~").Should().BeNull();
            reader.Lookup(wide, entry.Name[..^1]).Should().BeNull();
        }
        reader.Lookup(wide, "a").Should().BeNull("before every name");
        reader.Lookup(wide, "zzzz").Should().BeNull("after every name");
    }

    [Theory]
    [InlineData("")]
    [InlineData("-noI -noD -noF -noX")]
    [InlineData("-no-xattrs")]
    public void Xattrs_match_the_source(string options)
    {
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(options));
        foreach (var entry in reader.EnumerateTree())
        {
            string source = Path.Combine(ImageOptions.RichTree, entry.Path.TrimStart('/'));
            var expected = options.Contains("-no-xattrs") ? [] : TestTrees.GetXattrs(source);
            var actual = reader.GetXattrs(entry).ToDictionary(x => x.Name, x => x.Value.ToArray());
            actual.Should().BeEquivalentTo(expected, entry.Path);
            if (entry.Path == "/xattr/one.txt" && expected.Count > 0)
            {
                actual.Keys.Should().BeEquivalentTo("user.small", "user.big");
                actual["user.big"].Should().HaveCount(300, "values over 128 bytes are stored out of line");
            }
        }
        var one = reader.GetEntry("xattr/one.txt");
        var two = reader.GetEntry("xattr/two.txt");
        if (!options.Contains("-no-xattrs")) one.XattrIndex.Should().NotBeNull().And.Be(two.XattrIndex, "identical sets share one id");
    }

    [Fact]
    public void Inodes_are_found_by_number_through_the_export_table_and_by_reference()
    {
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        foreach (var entry in reader.EnumerateTree())
        {
            var byNumber = reader.LookupInode(entry.InodeNumber);
            byNumber.InodeReference.Should().Be(entry.InodeReference);
            byNumber.Type.Should().Be(entry.Type);
            byNumber.Size.Should().Be(entry.Size);
            byNumber.Path.Should().BeEmpty();
        }
        foreach (var entry in reader.EnumerateTree().Take(200))
        {
            var byReference = reader.ReadInode(entry.InodeReference);
            (byReference.InodeNumber, byReference.Type, byReference.Size, byReference.Path).Should().Be((entry.InodeNumber, entry.Type, entry.Size, ""));
        }
        var badReference = () => reader.ReadInode(0xFFFF_FFFF_0000);
        badReference.Should().Throw<SquashFsException>().WithMessage("*inode reference*");
        var zero = () => reader.LookupInode(0);
        zero.Should().Throw<ArgumentOutOfRangeException>();
        var beyond = () => reader.LookupInode(reader.InodeCount + 1);
        beyond.Should().Throw<ArgumentOutOfRangeException>();

        using var noExports = SquashFsImage.Open(ImageOptions.RichImage("-no-exports"));
        noExports.HasExportTable.Should().BeFalse();
        var unsupported = () => noExports.LookupInode(1);
        unsupported.Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void Opens_an_image_embedded_at_an_offset()
    {
        using var scratch = new TempDirectory("offset");
        string embedded = scratch.Combine("embedded.bin");
        byte[] prefix = Enumerable.Range(0, 12_345).Select(i => (byte)(i * 31)).ToArray();
        using (var output = File.Create(embedded))
        {
            output.Write(prefix);
            output.Write(File.ReadAllBytes(ImageOptions.RichImage("")));
            output.Write("trailing data after the image"u8);
        }

        using var plain = SquashFsImage.Open(ImageOptions.RichImage(""));
        using var atOffset = SquashFsImage.Open(embedded, prefix.Length);
        atOffset.ImageOffset.Should().Be(prefix.Length);
        atOffset.EnumerateTree().Select(UnsquashfsListing.Format).Should().Equal(plain.EnumerateTree().Select(UnsquashfsListing.Format));
        var expected = File.ReadAllBytes(Path.Combine(ImageOptions.RichTree, "blocks/random-2.5M.bin"));
        using var stream = atOffset.OpenRead(atOffset.GetEntry("blocks/random-2.5M.bin"));
        var actual = new MemoryStream();
        stream.CopyTo(actual);
        actual.ToArray().AsSpan().SequenceEqual(expected).Should().BeTrue();

        using var handle = File.OpenHandle(embedded);
        using (var borrowed = SquashFsImage.Open(handle, prefix.Length, ownsHandle: false))
            borrowed.Root.IsDirectory.Should().BeTrue();
        handle.IsClosed.Should().BeFalse("the caller kept ownership");

        var wrongOffset = () => SquashFsImage.Open(embedded, prefix.Length - 1);
        wrongOffset.Should().Throw<SquashFsException>().WithMessage("*magic*");
        var beyondEnd = () => SquashFsImage.Open(embedded, new FileInfo(embedded).Length + 1);
        beyondEnd.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Concurrent_reads_with_small_caches_return_correct_data()
    {
        var options = new SquashFsImageOptions
        {
            MetadataCacheBytes = 64 << 10,
            DataCacheBytes = 256 << 10,
            FragmentCacheBytes = 256 << 10,
            BlockIndexCacheWords = 64,
        };
        using var reader = SquashFsImage.Open(ImageOptions.RichImage("-b 4K"), options: options);
        var files = SourceFiles(ImageOptions.RichTree)
            .Select(f => (Entry: reader.GetEntry(f.Relative), Content: File.ReadAllBytes(f.Source)))
            .Where(f => f.Content.Length > 0)
            .ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            var random = new Random(worker);
            var buffer = new byte[20_000];
            for (int i = 0; i < 1500; i++)
            {
                var (entry, content) = files[random.Next(files.Length)];
                long position = random.NextInt64(content.Length);
                int read = reader.ReadFile(entry, position, buffer.AsSpan(0, random.Next(1, buffer.Length)));
                if (!buffer.AsSpan(0, read).SequenceEqual(content.AsSpan((int)position, read)))
                    failures.Add($"{entry.Path} at {position}");
            }
        });

        failures.Should().BeEmpty();
    }

    [Fact]
    public void Streams_seek_and_report_length()
    {
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        var expected = File.ReadAllBytes(Path.Combine(ImageOptions.RichTree, "blocks/odd-70000.bin"));
        using var stream = reader.OpenRead(reader.GetEntry("blocks/odd-70000.bin"));

        stream.CanRead.Should().BeTrue();
        stream.CanSeek.Should().BeTrue();
        stream.CanWrite.Should().BeFalse();
        stream.Length.Should().Be(70_000);
        stream.Seek(-10, SeekOrigin.End).Should().Be(69_990);
        var tail = new byte[100];
        stream.Read(tail, 0, 100).Should().Be(10);
        tail.AsSpan(0, 10).SequenceEqual(expected.AsSpan(69_990)).Should().BeTrue();
        stream.Read(tail, 0, 100).Should().Be(0);
        stream.Position = 5;
        stream.ReadByte().Should().Be(expected[5]);
        stream.Seek(3, SeekOrigin.Current).Should().Be(9);
        var beforeStart = () => stream.Seek(-1, SeekOrigin.Begin);
        beforeStart.Should().Throw<IOException>();
        var write = () => stream.Write(tail, 0, 1);
        write.Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void Rejects_foreign_and_mistyped_entries_and_use_after_dispose()
    {
        using var first = SquashFsImage.Open(ImageOptions.RichImage(""));
        var second = SquashFsImage.Open(ImageOptions.RichImage("-no-fragments"));
        var foreign = second.GetEntry("small.txt");

        var readForeign = () => first.ReadFile(foreign, 0, new byte[10]);
        readForeign.Should().Throw<ArgumentException>().WithMessage("*another image*");
        var readDirectory = () => first.ReadFile(first.Root, 0, new byte[10]);
        readDirectory.Should().Throw<ArgumentException>();
        var listFile = () => first.ListDirectory(first.GetEntry("small.txt"));
        listFile.Should().Throw<ArgumentException>();
        var readLinkOfFile = () => first.ReadLink(first.GetEntry("small.txt"));
        readLinkOfFile.Should().Throw<ArgumentException>();
        var negative = () => first.ReadFile(first.GetEntry("small.txt"), -1, new byte[10]);
        negative.Should().Throw<ArgumentOutOfRangeException>();

        second.Dispose();
        var afterDispose = () => second.Find("small.txt");
        afterDispose.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Opening_with_an_owned_handle_closes_it_when_the_image_is_invalid()
    {
        using var scratch = new TempDirectory("invalid");
        string path = scratch.Combine("not-an-image");
        File.WriteAllBytes(path, new byte[4096]);
        SafeFileHandle handle = File.OpenHandle(path);

        var open = () => SquashFsImage.Open(handle, 0, ownsHandle: true);

        open.Should().Throw<SquashFsException>().WithMessage("*magic*");
        handle.IsClosed.Should().BeTrue();
    }

    /// <summary>
    /// Regular files of a source tree as (path relative to the root, full path): symlinks are
    /// skipped and so is special/, whose FIFO would block a reader.
    /// </summary>
    internal static IEnumerable<(string Relative, string Source)> SourceFiles(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };
        return Directory.EnumerateFiles(root, "*", options)
            .Select(file => (Relative: Path.GetRelativePath(root, file), Source: file))
            .Where(file => !file.Relative.StartsWith("special/", StringComparison.Ordinal))
            .OrderBy(file => file.Relative, StringComparer.Ordinal);
    }
}
