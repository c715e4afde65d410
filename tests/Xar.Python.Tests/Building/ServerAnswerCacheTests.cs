using System.Text;
using Xar.Python.Building;
using Xar.SquashFs.Writing;

namespace Xar.Python.Tests.Building;

public sealed class ServerAnswerCacheTests
{
    private const string Python311 = "/root/.pyenv/versions/3.11.7/bin/python3.11";
    private static readonly byte[] Source = "NAME = 'MARKER_AAAA'\n"u8.ToArray();

    /// <summary>Compiles <see cref="Source"/> with a compiler using the cache in <paramref name="directory"/>; the store is saved when the compiler ends.</summary>
    private static string CompiledName(string directory, byte[]? source = null)
    {
        using var compiler = new BytecodeCompiler(Python311, servers: 1, cache: ServerAnswerCache.At(directory));
        byte[] pyc = compiler.Compile("lib/python/pkg/names.py", source ?? Source, out string? error)!;
        error.Should().BeNull();
        return Encoding.ASCII.GetString(pyc).Contains("MARKER_AAAA") ? "MARKER_AAAA" : Encoding.ASCII.GetString(pyc).Contains("MARKER_BBBB") ? "MARKER_BBBB" : "neither";
    }

    /// <summary>The one store file of the directory, with the kept pyc's constant changed: what a second build takes shows whether it asked the server.</summary>
    private static string TamperWithStore(string directory)
    {
        string store = Directory.GetFiles(directory).Should().ContainSingle().Subject;
        byte[] bytes = File.ReadAllBytes(store);
        byte[] marker = "MARKER_AAAA"u8.ToArray();
        int at = bytes.AsSpan().IndexOf(marker);
        at.Should().BePositive("the store keeps the server's pyc");
        "MARKER_BBBB"u8.CopyTo(bytes.AsSpan(at));
        File.WriteAllBytes(store, bytes);
        return store;
    }

    [Fact]
    public void A_second_build_takes_the_kept_answer_for_the_same_path_and_source_and_asks_the_server_for_another_source()
    {
        using var directory = new TempDirectory("answers");
        string cache = Path.Combine(directory.Path, "cache");

        CompiledName(cache).Should().Be("MARKER_AAAA");
        File.GetUnixFileMode(cache).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.GetUnixFileMode(TamperWithStore(cache)).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);

        CompiledName(cache).Should().Be("MARKER_BBBB", "the answer comes from the store, not from a server");
        CompiledName(cache, "NAME = 'MARKER_AAAA'  # another source\n"u8.ToArray()).Should().Be("MARKER_AAAA", "another source is another key");
    }

    [Theory]
    [InlineData("directory writable by the group")]
    [InlineData("store writable by others")]
    [InlineData("store a symlink")]
    [InlineData("directory a symlink")]
    public void A_store_others_could_have_written_is_not_used(string how)
    {
        using var directory = new TempDirectory("answers");
        string cache = Path.Combine(directory.Path, "cache");
        CompiledName(cache).Should().Be("MARKER_AAAA");
        string store = TamperWithStore(cache);
        switch (how)
        {
            case "directory writable by the group":
                File.SetUnixFileMode(cache, (UnixFileMode)0b111_111_000);
                break;
            case "store writable by others":
                File.SetUnixFileMode(store, (UnixFileMode)0b110_110_110);
                break;
            case "directory a symlink":
                string real = Path.Combine(directory.Path, "real");
                Directory.Move(cache, real);
                File.CreateSymbolicLink(cache, real);
                break;
            default:
                string elsewhere = Path.Combine(directory.Path, "elsewhere");
                File.Move(store, elsewhere);
                File.CreateSymbolicLink(store, elsewhere);
                break;
        }

        CompiledName(cache).Should().Be("MARKER_AAAA", "the server compiles it again");
    }

    /// <summary>
    /// XAR_BUILD_CACHE below a directory another user controls: that user can move the checked
    /// cache away while the build runs and put a directory of theirs at its path, with the store's
    /// name a symlink to a file of the builder's. The store must be written into the directory that
    /// was checked, and nothing at the path now is followed or replaced.
    /// </summary>
    [Fact]
    public void A_cache_directory_swapped_while_the_build_runs_is_not_written_through()
    {
        using var directory = new TempDirectory("answers");
        string cache = Path.Combine(directory.Path, "cache");
        CompiledName(cache).Should().Be("MARKER_AAAA");
        string storeName = Path.GetFileName(Directory.GetFiles(cache).Should().ContainSingle().Subject);
        string victim = Path.Combine(directory.Path, "victim");
        File.WriteAllText(victim, "the builder's file\n");
        string planted = Path.Combine(directory.Path, "planted");
        Directory.CreateDirectory(planted);
        File.CreateSymbolicLink(Path.Combine(planted, storeName), victim);

        using (var compiler = new BytecodeCompiler(Python311, servers: 1, cache: ServerAnswerCache.At(cache)))
        {
            // The store is open: a new answer makes the build write it when the compiler ends.
            compiler.Compile("lib/python/pkg/other.py", "OTHER = 1\n"u8, out string? error).Should().NotBeNull();
            error.Should().BeNull();
            Directory.Move(cache, Path.Combine(directory.Path, "checked"));
            File.CreateSymbolicLink(cache, planted);
        }

        File.ReadAllText(victim).Should().Be("the builder's file\n");
        File.ResolveLinkTarget(Path.Combine(planted, storeName), returnFinalTarget: false)!.FullName.Should().Be(victim);
        Directory.GetFiles(planted).Should().ContainSingle();
        byte[] kept = File.ReadAllBytes(Path.Combine(directory.Path, "checked", storeName));
        kept.AsSpan().IndexOf("OTHER"u8).Should().BePositive("the new answer is kept in the directory that was checked");
    }

    [Fact]
    public void The_writers_compressed_blocks_are_kept_in_a_store_of_their_own_for_the_next_build()
    {
        using var directory = new TempDirectory("answers");
        string cache = Path.Combine(directory.Path, "cache");
        CompiledName(cache).Should().Be("MARKER_AAAA");

        var blocks = ServerAnswerCache.At(cache).OpenBlocks();
        ICompressedBlockCache kept = blocks;
        kept.Find(7).Should().BeNull();
        kept.Add(7, "BLOCK"u8);
        blocks.Save();

        Directory.GetFiles(cache).Should().HaveCount(2, "the compiler's answers and the blocks have a store each");
        ICompressedBlockCache again = ServerAnswerCache.At(cache).OpenBlocks();
        again.Find(7)!.Value.ToArray().Should().Equal("BLOCK"u8.ToArray());
        CompiledName(cache).Should().Be("MARKER_AAAA", "the compiler's store is not the blocks'");
    }

    [Fact]
    public void Off_in_the_environment_means_no_cache()
    {
        string? saved = Environment.GetEnvironmentVariable("XAR_BUILD_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("XAR_BUILD_CACHE", "off");
            ServerAnswerCache.FromEnvironment().Should().BeNull();
            Environment.SetEnvironmentVariable("XAR_BUILD_CACHE", "/somewhere/answers");
            ServerAnswerCache.FromEnvironment()!.Directory.Should().Be("/somewhere/answers");
        }
        finally
        {
            Environment.SetEnvironmentVariable("XAR_BUILD_CACHE", saved);
        }
    }
}
