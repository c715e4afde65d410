namespace Xar.Runtime.Tests;

/// <summary>The cache mechanics of the extraction rung, with a stand-in extractor: roots, noexec, locking, atomic publication, clean-up.</summary>
public sealed class ExtractionCacheTests : IDisposable
{
    private const string Key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private RuntimeSettings Settings(string? cacheHome = null) => new()
    {
        XdgCacheHome = cacheHome ?? _sandbox.Cache,
        Home = _sandbox.Home,
    };

    /// <summary>As an extraction must: the tree's top is the caller's alone from the start.</summary>
    private static void WriteTree(string destination)
    {
        Directory.CreateDirectory(destination, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(destination, "file"), "content");
    }

    [Fact]
    public void The_first_call_extracts_into_XDG_CACHE_HOME_and_later_calls_reuse_it()
    {
        var cache = new ExtractionCache(Settings(), "app.xar");

        using PreparedTree tree = cache.GetOrCreate(Key, WriteTree);
        using PreparedTree again = cache.GetOrCreate(Key, _ => throw new InvalidOperationException("extracted twice"));
        using PreparedTree? found = cache.OpenExisting(Key);

        tree.Directory.Should().Be(Path.Combine(_sandbox.Cache, "xar", Key));
        tree.Created.Should().BeTrue();
        again.Directory.Should().Be(tree.Directory);
        again.Created.Should().BeFalse();
        found!.Directory.Should().Be(tree.Directory);
        File.GetUnixFileMode(Path.Combine(_sandbox.Cache, "xar")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public void A_failed_extraction_leaves_no_tree_and_no_temporary_directory()
    {
        var cache = new ExtractionCache(Settings(), "app.xar");

        Action extract = () => cache.GetOrCreate(Key, destination =>
        {
            WriteTree(destination);
            throw new XarRuntimeException(XarExitCode.BadArchive, "app.xar", "corrupt block");
        });

        extract.Should().Throw<XarRuntimeException>().Which.Cause.Should().Be("corrupt block");
        Directory.EnumerateFileSystemEntries(Path.Combine(_sandbox.Cache, "xar")).Should().OnlyContain(p => p.EndsWith(".lock"));
        cache.OpenExisting(Key).Should().BeNull();
    }

    [Fact]
    public void Temporary_trees_of_a_launch_that_died_are_removed_by_the_next_extraction()
    {
        string root = Path.Combine(_sandbox.Cache, "xar");
        string abandoned = Path.Combine(root, $".{Key}.deadbeef.tmp");
        Directory.CreateDirectory(Path.Combine(abandoned, "readonly"));
        File.SetUnixFileMode(Path.Combine(abandoned, "readonly"), UnixFileMode.UserRead | UnixFileMode.UserExecute);

        new ExtractionCache(Settings(), "app.xar").GetOrCreate(Key, WriteTree).Dispose();

        Directory.Exists(abandoned).Should().BeFalse();
    }

    [Fact]
    public void Thirty_two_concurrent_first_calls_extract_once()
    {
        int extractions = 0;
        var cache = new ExtractionCache(Settings(), "app.xar");
        var results = new PreparedTree[32];

        Parallel.For(0, 32, new ParallelOptions { MaxDegreeOfParallelism = 32 }, i =>
            results[i] = cache.GetOrCreate(Key, destination =>
            {
                Interlocked.Increment(ref extractions);
                Thread.Sleep(50);
                WriteTree(destination);
            }));

        extractions.Should().Be(1);
        results.Count(r => r.Created).Should().Be(1);
        results.Select(r => r.Directory).Distinct().Should().ContainSingle();
        foreach (PreparedTree result in results)
            result.Dispose();
    }

    [Fact]
    public void A_cache_root_on_a_noexec_mount_is_skipped_for_the_next_one()
    {
        string noexec = Path.Combine(_sandbox.Root, "noexec");
        Directory.CreateDirectory(noexec);
        Run.Program("mount", ["-t", "tmpfs", "-o", "noexec,size=16m", "tmpfs", noexec]).ExitCode.Should().Be(0, "the tests run as root");
        var cache = new ExtractionCache(Settings(cacheHome: noexec), "app.xar");

        using PreparedTree tree = cache.GetOrCreate(Key, WriteTree);
        using PreparedTree? found = cache.OpenExisting(Key);

        tree.Created.Should().BeTrue();
        tree.Directory.Should().Be(Path.Combine(_sandbox.Home, ".cache", "xar", Key));
        Directory.EnumerateFileSystemEntries(noexec).Should().BeEmpty("nothing is created on a noexec filesystem");
        found!.Directory.Should().Be(tree.Directory);
    }

    [Fact]
    public void A_cache_root_that_cannot_be_created_is_skipped_for_the_next_one()
    {
        string file = Path.Combine(_sandbox.Root, "not-a-directory");
        File.WriteAllText(file, "");
        var cache = new ExtractionCache(Settings(cacheHome: file), "app.xar");

        using PreparedTree tree = cache.GetOrCreate(Key, WriteTree);

        tree.Directory.Should().Be(Path.Combine(_sandbox.Home, ".cache", "xar", Key));
    }

    [Fact]
    public void A_tree_without_the_stamp_of_its_extraction_is_not_trusted_but_extracted_anew()
    {
        string planted = Path.Combine(_sandbox.Cache, "xar", Key);
        Directory.CreateDirectory(planted);
        File.WriteAllText(Path.Combine(planted, "file"), "planted");
        File.SetUnixFileMode(Path.Combine(_sandbox.Cache, "xar"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var cache = new ExtractionCache(Settings(), "app.xar");

        cache.OpenExisting(Key).Should().BeNull();
        using PreparedTree tree = cache.GetOrCreate(Key, WriteTree);

        tree.Created.Should().BeTrue();
        File.ReadAllText(Path.Combine(tree.Directory, "file")).Should().Be("content");
        File.ReadAllText(tree.Directory + ".stamp").Should().StartWith($"xar extraction 1\nkey {Key}\n").And.EndWith($"archive {Path.GetFullPath("app.xar")}\n");
    }

    [Fact]
    public void A_stamp_does_not_vouch_for_another_directory_put_in_the_trees_place()
    {
        var cache = new ExtractionCache(Settings(), "app.xar");
        string tree;
        using (PreparedTree first = cache.GetOrCreate(Key, WriteTree))
            tree = first.Directory;
        Directory.Move(tree, tree + ".moved");
        Directory.CreateDirectory(tree);

        cache.OpenExisting(Key).Should().BeNull("the stamp names the extracted directory's inode");
    }

    [Fact]
    public void Removal_deletes_a_tree_nested_beyond_PATH_MAX_and_read_only_directories_without_following_symlinks()
    {
        string outside = Path.Combine(_sandbox.Root, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "keep"), "");
        string tree = Path.Combine(_sandbox.Root, "deep");
        // 40 levels of 200-character names (8,040 characters): made with relative mkdir/chdir,
        // as no path can name the bottom; a read-only directory and a symlink out on the way.
        string name = new('d', 200);
        Run.Checked("python3", ["-c", """
            import os, sys
            os.mkdir(sys.argv[1]); os.chdir(sys.argv[1])
            os.symlink(sys.argv[3], "link")
            for i in range(40):
                os.mkdir(sys.argv[2]); os.chdir(sys.argv[2])
            open("file", "w").close()
            os.mkdir("readonly"); open("readonly/f", "w").close(); os.chmod("readonly", 0o500)
            """, tree, name, outside]);

        TreeRemoval.Remove(tree).Should().BeTrue();

        Directory.Exists(tree).Should().BeFalse();
        File.Exists(Path.Combine(outside, "keep")).Should().BeTrue();
    }
}
