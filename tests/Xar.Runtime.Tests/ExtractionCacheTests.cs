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

    private static void WriteTree(string destination)
    {
        Directory.CreateDirectory(destination);
        File.WriteAllText(Path.Combine(destination, "file"), "content");
    }

    [Fact]
    public void The_first_call_extracts_into_XDG_CACHE_HOME_and_later_calls_reuse_it()
    {
        var cache = new ExtractionCache(Settings(), "app.xar");

        var (tree, created) = cache.GetOrCreate(Key, WriteTree);
        var (again, createdAgain) = cache.GetOrCreate(Key, _ => throw new InvalidOperationException("extracted twice"));

        tree.Should().Be(Path.Combine(_sandbox.Cache, "xar", Key));
        created.Should().BeTrue();
        again.Should().Be(tree);
        createdAgain.Should().BeFalse();
        cache.FindExisting(Key).Should().Be(tree);
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
        cache.FindExisting(Key).Should().BeNull();
    }

    [Fact]
    public void Temporary_trees_of_a_launch_that_died_are_removed_by_the_next_extraction()
    {
        string root = Path.Combine(_sandbox.Cache, "xar");
        string abandoned = Path.Combine(root, $".{Key}.deadbeef.tmp");
        Directory.CreateDirectory(Path.Combine(abandoned, "readonly"));
        File.SetUnixFileMode(Path.Combine(abandoned, "readonly"), UnixFileMode.UserRead | UnixFileMode.UserExecute);

        new ExtractionCache(Settings(), "app.xar").GetOrCreate(Key, WriteTree);

        Directory.Exists(abandoned).Should().BeFalse();
    }

    [Fact]
    public void Thirty_two_concurrent_first_calls_extract_once()
    {
        int extractions = 0;
        var cache = new ExtractionCache(Settings(), "app.xar");
        var results = new (string Tree, bool Created)[32];

        Parallel.For(0, 32, new ParallelOptions { MaxDegreeOfParallelism = 32 }, i =>
            results[i] = cache.GetOrCreate(Key, destination =>
            {
                Interlocked.Increment(ref extractions);
                Thread.Sleep(50);
                WriteTree(destination);
            }));

        extractions.Should().Be(1);
        results.Count(r => r.Created).Should().Be(1);
        results.Select(r => r.Tree).Distinct().Should().ContainSingle();
    }

    [Fact]
    public void A_cache_root_on_a_noexec_mount_is_skipped_for_the_next_one()
    {
        string noexec = Path.Combine(_sandbox.Root, "noexec");
        Directory.CreateDirectory(noexec);
        Run.Program("mount", ["-t", "tmpfs", "-o", "noexec,size=16m", "tmpfs", noexec]).ExitCode.Should().Be(0, "the tests run as root");
        var cache = new ExtractionCache(Settings(cacheHome: noexec), "app.xar");

        var (tree, created) = cache.GetOrCreate(Key, WriteTree);

        created.Should().BeTrue();
        tree.Should().Be(Path.Combine(_sandbox.Home, ".cache", "xar", Key));
        Directory.EnumerateFileSystemEntries(noexec).Should().BeEmpty("nothing is created on a noexec filesystem");
        cache.FindExisting(Key).Should().Be(tree);
    }

    [Fact]
    public void A_cache_root_that_cannot_be_created_is_skipped_for_the_next_one()
    {
        string file = Path.Combine(_sandbox.Root, "not-a-directory");
        File.WriteAllText(file, "");
        var cache = new ExtractionCache(Settings(cacheHome: file), "app.xar");

        var (tree, _) = cache.GetOrCreate(Key, WriteTree);

        tree.Should().Be(Path.Combine(_sandbox.Home, ".cache", "xar", Key));
    }
}
