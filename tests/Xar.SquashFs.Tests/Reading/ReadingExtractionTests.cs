using Xar.Interop;
using Xar.SquashFs.Reading;
using Xar.SquashFs.Tests.Support;

namespace Xar.SquashFs.Tests.Reading;

public class ReadingExtractionTests
{
    [Theory]
    [MemberData(nameof(ImageOptions.Mixes), MemberType = typeof(ImageOptions))]
    public void Extraction_matches_unsquashfs(string options)
    {
        string image = ImageOptions.RichImage(options);
        using var scratch = new TempDirectory("extract");
        string destination = scratch.Combine("out");
        using var reader = SquashFsImage.Open(image);
        var warnings = new List<string>();

        var summary = reader.ExtractTo(destination, new ExtractOptions
        {
            RestoreOwners = true,
            Warning = (entry, message) => { lock (warnings) warnings.Add($"{entry.Path}: {message}"); },
        });

        TreeSnapshot.Capture(destination, withOwners: true).ShouldMatch(TreeSnapshot.Capture(ImageCache.Unsquashed(image), withOwners: true));
        warnings.Should().BeEmpty();
        summary.HardLinks.Should().Be(2);
        summary.Symlinks.Should().Be(5);
        summary.Fifos.Should().Be(1);
        summary.Sockets.Should().Be(1);
        summary.Files.Should().BeGreaterThan(700);
        if (SquashFsTools.IsRoot) summary.Devices.Should().Be(3);
    }

    /// <summary>On disk and on tmpfs (no journal): the tree does not depend on how many threads create it.</summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(5, false)]
    [InlineData(1, true)]
    [InlineData(5, true)]
    public void Extraction_with_any_number_of_workers_matches_unsquashfs(int workers, bool inMemory)
    {
        string image = ImageOptions.RichImage("-b 4K");
        using var scratch = new TempDirectory("workers", inMemory);
        using var reader = SquashFsImage.Open(image);

        reader.ExtractTo(scratch.Combine("out"), new ExtractOptions { RestoreOwners = true, MaxDegreeOfParallelism = workers });

        TreeSnapshot.Capture(scratch.Combine("out"), withOwners: true).ShouldMatch(TreeSnapshot.Capture(ImageCache.Unsquashed(image), withOwners: true));
    }

    /// <summary>
    /// Each thread holds open only the file it writes (none are created ahead), and files of one
    /// directory are created by one thread at a time (two creating in one directory spin on its
    /// lock): two destination files open at once are never in the same directory. A pair seen
    /// in one listing of /proc/self/fd counts only if both descriptors still name the same files
    /// when read again, so both were open at one moment (a file is created once: O_EXCL).
    /// </summary>
    [Fact]
    public async Task Threads_hold_one_file_each_and_never_create_in_the_same_directory()
    {
        using var scratch = new TempDirectory("open-files");
        var random = new Random(7);
        var tree = Directory.CreateDirectory(scratch.Combine("tree")).FullName;
        for (int d = 0; d < 8; d++)
        {
            string directory = Directory.CreateDirectory(Path.Combine(tree, $"d{d}")).FullName;
            for (int i = 0; i < 150; i++)
            {
                var bytes = new byte[32 * 1024]; // incompressible: every file costs its writer real work
                random.NextBytes(bytes);
                File.WriteAllBytes(Path.Combine(directory, $"f{i:D3}.bin"), bytes);
            }
        }
        string image = scratch.Combine("tree.sqfs");
        var writer = new Xar.SquashFs.Writing.SquashFsWriter(new Xar.SquashFs.Writing.SquashFsWriterOptions());
        writer.AddDirectory(tree);
        using (var output = File.Create(image)) writer.WriteTo(output);
        string destination = scratch.Combine("out");
        using var reader = SquashFsImage.Open(image);

        int peak = 0;
        var sharedDirectories = new List<string>();
        using var done = new ManualResetEventSlim();
        using var watching = new ManualResetEventSlim();
        var monitor = Task.Factory.StartNew(() =>
        {
            while (!done.IsSet)
            {
                var open = Directory.EnumerateFiles("/proc/self/fd")
                    .Select(fd => (Fd: fd, Target: Target(fd)))
                    .Where(d => d.Target?.StartsWith(destination + "/", StringComparison.Ordinal) == true)
                    .ToList();
                peak = Math.Max(peak, open.Count);
                foreach (var sameDirectory in open.GroupBy(d => Path.GetDirectoryName(d.Target)).Where(g => g.Count() > 1))
                {
                    if (sameDirectory.All(d => Target(d.Fd) == d.Target))
                        sharedDirectories.Add(string.Join(", ", sameDirectory.Select(d => d.Target)));
                }
                watching.Set();
            }
        }, TaskCreationOptions.LongRunning);
        watching.Wait();
        reader.ExtractTo(destination, new ExtractOptions { MaxDegreeOfParallelism = 2 });
        done.Set();
        await monitor;

        peak.Should().BeInRange(1, 2);
        sharedDirectories.Should().BeEmpty();
        TreeSnapshot.Capture(destination).ShouldMatch(TreeSnapshot.Capture(tree));

        static string? Target(string fd) => new FileInfo(fd).LinkTarget; // null once the descriptor is closed
    }

    /// <summary>
    /// Enough directories that several threads finish them (modes and times, once everything
    /// exists): read-only, private and sticky directories with subdirectories inside, and hard
    /// links added into many of them just before — every mode and mtime is unsquashfs's.
    /// </summary>
    [Fact]
    public void Directories_finished_by_several_threads_match_unsquashfs()
    {
        string image = ImageCache.Image("many-directories", tree =>
        {
            string origin = Path.Combine(tree, "origin.txt");
            File.WriteAllText(origin, "linked from many directories");
            string[] modes = ["555", "700", "1777", "755", "500"];
            for (int i = 0; i < 400; i++)
            {
                string directory = Directory.CreateDirectory(Path.Combine(tree, $"d{i:D3}", "sub")).FullName;
                File.WriteAllText(Path.Combine(directory, "file.txt"), $"{i}\n");
                string parent = Path.GetDirectoryName(directory)!;
                if (i % 3 == 0) Check(LibC.LinkAt(LibC.AT_FDCWD, Terminate(origin), Terminate(Path.Combine(parent, "link.txt"))));
                TestTrees.SetMode(parent, modes[i % modes.Length]);
            }
        }, "");
        using var scratch = new TempDirectory("finish");
        using var reader = SquashFsImage.Open(image);

        var summary = reader.ExtractTo(scratch.Combine("out"), new ExtractOptions { RestoreOwners = true, MaxDegreeOfParallelism = 4 });

        summary.Directories.Should().BeGreaterThan(800);
        summary.HardLinks.Should().Be(134);
        TreeSnapshot.Capture(scratch.Combine("out"), withOwners: true).ShouldMatch(TreeSnapshot.Capture(ImageCache.Unsquashed(image), withOwners: true));

        static byte[] Terminate(string path) => System.Text.Encoding.UTF8.GetBytes(path + "\0");
        static void Check(int error) => error.Should().Be(0);
    }

    /// <summary>
    /// Files are created with their final mode only where the kernel gives exactly that mode: not
    /// when the umask would clear some of its bits, nor under a default ACL (which replaces the
    /// umask and is inherited by every directory created below). Either way the modes are
    /// unsquashfs's as root (which clears its umask and so always gets the image's).
    /// </summary>
    [Theory]
    [InlineData("077", false)]
    [InlineData("000", true)]
    public void Files_get_the_image_modes_whatever_the_umask_or_a_default_acl(string umask, bool defaultAcl)
    {
        using var scratch = new TempDirectory("modes");
        string tree = Directory.CreateDirectory(scratch.Combine("tree")).FullName;
        string inner = Directory.CreateDirectory(Path.Combine(tree, "inner")).FullName;
        foreach (string directory in (string[])[tree, inner])
        {
            foreach (string mode in (string[])["666", "777", "755", "644", "640", "600", "444", "000"])
            {
                File.WriteAllText(Path.Combine(directory, "f" + mode), mode);
                TestTrees.SetMode(Path.Combine(directory, "f" + mode), mode);
            }
        }
        string image = scratch.Combine("modes.sqfs");
        SquashFsTools.Mksquashfs(tree, image, "");
        string parent = Directory.CreateDirectory(scratch.Combine("parent")).FullName;
        if (defaultAcl) TestTrees.SetXattr(parent, "system.posix_acl_default", OwnerOnlyDefaultAcl);
        string destination = Path.Combine(parent, "out");
        using var reader = SquashFsImage.Open(image);

        // The workers, started by the thread whose umask is set, share its file-system context.
        ThreadUmask.Run(Convert.ToUInt32(umask, 8), () => reader.ExtractTo(destination, new ExtractOptions { MaxDegreeOfParallelism = 2 }));

        TreeSnapshot.Capture(destination).ShouldMatch(TreeSnapshot.Capture(ImageCache.Unsquashed(image)));
    }

    /// <summary>The xattr form of "default:user::rwx, group::---, other::---" (acl_ea_header version 2, then tag, perm, id).</summary>
    private static readonly byte[] OwnerOnlyDefaultAcl =
    [
        2, 0, 0, 0,
        0x01, 0, 7, 0, 0xFF, 0xFF, 0xFF, 0xFF, // ACL_USER_OBJ rwx
        0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, // ACL_GROUP_OBJ ---
        0x20, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, // ACL_OTHER ---
    ];

    [Fact]
    public void Extraction_matches_the_source_tree_including_holes()
    {
        using var scratch = new TempDirectory("extract-source");
        string destination = scratch.Combine("out");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));

        reader.ExtractTo(destination, new ExtractOptions { RestoreOwners = true });

        foreach (var (relative, source) in ReadingImageTests.SourceFiles(ImageOptions.RichTree))
            File.ReadAllBytes(Path.Combine(destination, relative)).AsSpan().SequenceEqual(File.ReadAllBytes(source)).Should().BeTrue(relative);
        // all-holes.bin has no data block at all: extraction leaves it unallocated.
        long allocated = long.Parse(Run.Checked("stat", ["--printf", "%b", Path.Combine(destination, "sparse/all-holes.bin")]));
        allocated.Should().Be(0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-b 4K -no-fragments")]
    public void Selected_paths_extract_like_unsquashfs_extract_lists(string options)
    {
        string image = ImageOptions.RichImage(options);
        string[] paths = ["blocks", "hard/b", "links/relative", "d00/d01/d02", "perm/read-only/inside.txt", "xattr"];
        using var scratch = new TempDirectory("select");
        string ours = scratch.Combine("ours");
        string theirs = scratch.Combine("theirs");
        SquashFsTools.Unsquashfs(image, theirs, paths);
        using var reader = SquashFsImage.Open(image);

        reader.ExtractTo(ours, new ExtractOptions { RestoreOwners = true }, paths);

        TreeSnapshot.Capture(ours, withOwners: true).ShouldMatch(TreeSnapshot.Capture(theirs, withOwners: true));
    }

    [Fact]
    public void Overlapping_and_repeated_selections_extract_once()
    {
        using var scratch = new TempDirectory("overlap");
        string destination = scratch.Combine("out");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));

        var summary = reader.ExtractTo(destination, null, "blocks/exact-4k.bin", "blocks", "/blocks/", "small.txt", "small.txt");

        summary.Files.Should().Be(7);
        Directory.GetFiles(Path.Combine(destination, "blocks")).Should().HaveCount(6);
        File.Exists(Path.Combine(destination, "small.txt")).Should().BeTrue();
    }

    [Fact]
    public void Missing_selection_is_reported_before_anything_is_written()
    {
        using var scratch = new TempDirectory("missing");
        string destination = scratch.Combine("out");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));

        var extract = () => reader.ExtractTo(destination, null, "small.txt", "links/directory/exact-4k.bin");

        extract.Should().Throw<FileNotFoundException>().WithMessage("*links/directory/exact-4k.bin*");
        Directory.Exists(destination).Should().BeFalse();
    }

    [Fact]
    public void Xattrs_are_restored_when_asked()
    {
        using var scratch = new TempDirectory("xattrs");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        reader.ExtractTo(scratch.Combine("with"), new ExtractOptions { RestoreXattrs = true }, "xattr");
        reader.ExtractTo(scratch.Combine("without"), null, "xattr");

        foreach (var name in new[] { "xattr", "xattr/one.txt", "xattr/two.txt" })
        {
            TestTrees.GetXattrs(scratch.Combine("with", name))
                .Should().BeEquivalentTo(TestTrees.GetXattrs(Path.Combine(ImageOptions.RichTree, name)), name);
            TestTrees.GetXattrs(scratch.Combine("without", name)).Should().BeEmpty();
        }
    }

    [Fact]
    public void Set_id_bits_are_kept_only_with_restored_owners()
    {
        using var scratch = new TempDirectory("setid");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        reader.ExtractTo(scratch.Combine("plain"), null, "perm");
        var plain = TreeSnapshot.Capture(scratch.Combine("plain"));

        plain["perm/setuid"].Permissions.Should().Be(Convert.ToInt32("755", 8));
        plain["perm/setgid"].Permissions.Should().Be(Convert.ToInt32("750", 8));
        plain["perm/sticky"].Permissions.Should().Be(Convert.ToInt32("1777", 8), "the sticky bit grants nothing");
        plain["perm/none"].Permissions.Should().Be(0);
        plain["perm/read-only"].Permissions.Should().Be(Convert.ToInt32("555", 8));

        if (SquashFsTools.IsRoot)
        {
            reader.ExtractTo(scratch.Combine("owned"), new ExtractOptions { RestoreOwners = true }, "perm");
            var owned = TreeSnapshot.Capture(scratch.Combine("owned"));
            owned["perm/setuid"].Permissions.Should().Be(Convert.ToInt32("4755", 8));
            owned["perm/setgid"].Permissions.Should().Be(Convert.ToInt32("2750", 8));
        }
    }

    [Fact]
    public void A_symlink_already_in_the_destination_is_never_followed()
    {
        using var scratch = new TempDirectory("symlink-in-destination");
        string outside = Directory.CreateDirectory(scratch.Combine("outside")).FullName;
        string destination = Directory.CreateDirectory(scratch.Combine("out")).FullName;
        File.CreateSymbolicLink(Path.Combine(destination, "blocks"), outside);
        File.CreateSymbolicLink(Path.Combine(destination, "small.txt"), Path.Combine(outside, "victim.txt"));
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));

        var refused = () => reader.ExtractTo(destination, null, "blocks");
        refused.Should().Throw<IOException>().WithMessage("*not a directory*");
        var refusedFile = () => reader.ExtractTo(destination, null, "small.txt");
        refusedFile.Should().Throw<IOException>().WithMessage("*exists*");
        Directory.EnumerateFileSystemEntries(outside).Should().BeEmpty();

        reader.ExtractTo(destination, new ExtractOptions { Overwrite = true }, "blocks", "small.txt");

        Directory.EnumerateFileSystemEntries(outside).Should().BeEmpty();
        new DirectoryInfo(Path.Combine(destination, "blocks")).LinkTarget.Should().BeNull("the symlink was replaced by a directory");
        Directory.GetFiles(Path.Combine(destination, "blocks")).Should().HaveCount(6);
        new FileInfo(Path.Combine(destination, "small.txt")).LinkTarget.Should().BeNull();
        File.ReadAllText(Path.Combine(destination, "small.txt")).Should().Be("hello\n");
    }

    [Fact]
    public void Extracting_twice_needs_overwrite_and_then_replaces_everything()
    {
        using var scratch = new TempDirectory("twice");
        string destination = scratch.Combine("out");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        reader.ExtractTo(destination, new ExtractOptions { RestoreOwners = true });

        var again = () => reader.ExtractTo(destination, new ExtractOptions { RestoreOwners = true });
        again.Should().Throw<IOException>();

        reader.ExtractTo(destination, new ExtractOptions { RestoreOwners = true, Overwrite = true });
        TreeSnapshot.Capture(destination, withOwners: true).ShouldMatch(TreeSnapshot.Capture(ImageCache.Unsquashed(ImageOptions.RichImage("")), withOwners: true),
            compareRoot: false);
    }

    /// <summary>With PrivateRoot the tree is unsquashfs's except that its top lets group and others nothing.</summary>
    [Fact]
    public void A_private_root_is_the_image_root_without_group_and_other_bits()
    {
        string image = ImageOptions.RichImage("");
        using var scratch = new TempDirectory("private-root");
        string destination = scratch.Combine("out");
        using var reader = SquashFsImage.Open(image);

        reader.ExtractTo(destination, new ExtractOptions { RestoreOwners = true, PrivateRoot = true });

        var expected = TreeSnapshot.Capture(ImageCache.Unsquashed(image), withOwners: true);
        expected["."].Permissions.Should().Be(Convert.ToInt32("755", 8), "the rich tree's root is 0755");
        var ours = TreeSnapshot.Capture(destination, withOwners: true);
        ours.ShouldMatch(expected, compareRoot: false);
        ours["."].Should().Be(expected["."] with { Permissions = Convert.ToInt32("700", 8) });
    }

    [Fact]
    public void An_existing_destination_keeps_its_own_mode()
    {
        using var scratch = new TempDirectory("existing");
        string destination = Directory.CreateDirectory(scratch.Combine("out")).FullName;
        TestTrees.SetMode(destination, "711");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));

        reader.ExtractTo(destination, null, "small.txt");

        TreeSnapshot.Capture(destination)["."].Permissions.Should().Be(Convert.ToInt32("711", 8));
    }

    [Fact]
    public void Names_that_are_not_UTF8_keep_their_bytes()
    {
        using var scratch = new TempDirectory("raw-names");
        string tree = Directory.CreateDirectory(scratch.Combine("tree")).FullName;
        byte[] rawName = [(byte)'b', (byte)'a', (byte)'d', 0xFF, 0xFE, (byte)'.', (byte)'t', (byte)'x', (byte)'t'];
        int fd = LibC.OpenAt(LibC.AT_FDCWD, [.. System.Text.Encoding.UTF8.GetBytes(tree + "/"), .. rawName, 0], LibC.O_WRONLY | LibC.O_CREAT, 0x1A4);
        fd.Should().BeGreaterThanOrEqualTo(0);
        LibC.PWriteAll(fd, "raw\n"u8, 0).Should().Be(0);
        LibC.close(fd);
        string image = scratch.Combine("raw.sqfs");
        SquashFsTools.Mksquashfs(tree, image, "");
        using var reader = SquashFsImage.Open(image);

        var entry = reader.Lookup(reader.Root, rawName);

        entry.Should().NotBeNull();
        entry!.NameBytes.ToArray().Should().Equal(rawName);
        entry.Name.Should().Be("bad\uFFFD\uFFFD.txt");
        reader.ExtractTo(scratch.Combine("out"));
        int extracted = LibC.OpenAt(LibC.AT_FDCWD, [.. System.Text.Encoding.UTF8.GetBytes(scratch.Combine("out") + "/"), .. rawName, 0], LibC.O_RDONLY, 0);
        extracted.Should().BeGreaterThanOrEqualTo(0, "the file is created under its exact name");
        LibC.close(extracted);
    }

    /// <summary>
    /// The launcher extracts as a normal user: no devices (a warning each), no owners (one
    /// warning), set-id bits stripped, read-only and mode-0 entries still written. Compared with
    /// unsquashfs run as the same user.
    /// </summary>
    [Fact]
    public void Extraction_as_a_normal_user_matches_unsquashfs_run_as_that_user()
    {
        SquashFsTools.IsRoot.Should().BeTrue("the test switches to nobody, which needs root");
        string image = ImageOptions.RichImage("");
        using var scratch = new TempDirectory("nobody");
        TestTrees.SetMode(scratch.Path, "777");
        string ours = scratch.Combine("ours");
        string theirs = scratch.Combine("theirs");
        using var reader = SquashFsImage.Open(image);
        var warnings = new List<string>();
        ExtractionSummary? summary = null;

        Credentials.RunAs(Credentials.Nobody, Credentials.Nobody, () =>
            summary = reader.ExtractTo(ours, new ExtractOptions
            {
                RestoreOwners = true,
                MaxDegreeOfParallelism = 1,
                Warning = (entry, message) => warnings.Add($"{entry.Path}: {message}"),
            }));
        var unsquashfs = Run.Program("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "unsquashfs", "-n", "-q", "-d", theirs, image]);
        unsquashfs.ExitCode.Should().Be(2, "unsquashfs cannot create the image's devices as nobody: {0}", unsquashfs);

        var ourTree = TreeSnapshot.Capture(ours, withOwners: true);
        ourTree.ShouldMatch(TreeSnapshot.Capture(theirs, withOwners: true));
        ourTree["perm/setuid"].Uid.Should().Be(65534u);
        summary!.Skipped.Should().Be(3);
        summary.Devices.Should().Be(0);
        warnings.Should().HaveCount(4);
        warnings.Should().ContainSingle(w => w.Contains("owners not restored"));
        warnings.Where(w => w.Contains("only root may create device nodes")).Should().HaveCount(3);
    }

    [Fact]
    public void Cancellation_stops_the_extraction()
    {
        using var scratch = new TempDirectory("cancel");
        using var reader = SquashFsImage.Open(ImageOptions.RichImage(""));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var extract = () => reader.ExtractTo(scratch.Combine("out"), new ExtractOptions { CancellationToken = cancelled.Token });

        extract.Should().Throw<OperationCanceledException>();
    }
}
