using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// The launcher's extraction rung over hostile images whose archive is otherwise valid (the header
/// records the hostile image's own hash, so verification passes and the reader meets the damage):
/// one line, the bad-archive exit status, never an internal error, a crash or a stack trace, and
/// no tree left in the cache, finished or temporary.
/// </summary>
public sealed class HostileImageTests : IDisposable
{
    private static readonly Dictionary<string, string?> ForceExtraction = new() { ["XAR_MODE"] = "extract" };
    private static readonly Lazy<(byte[] Bytes, string Path)> s_image = new(BuildImage);

    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    /// <summary>Issue 8: 2^31 blocks crashed the launcher ("internal error"), 2^32 blocks extracted an empty file as success.</summary>
    [Theory]
    [InlineData(1L << 31)]
    [InlineData(1L << 32)]
    public void A_file_claiming_2_31_or_2_32_blocks_makes_a_bad_archive(long blocks)
    {
        var (bytes, path) = s_image.Value;
        string archive = Archive(HostileImages.WithHugeFile(bytes, path, "/blocks.bin", blocks), "huge");

        RunResult result = Extract(archive, _sandbox.Cache);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: {archive}: SquashFS image at OFFSET 4096: ")
            .And.Contain($"needs {blocks} blocks").And.EndWith("\n");
        result.Stderr.Count(c => c == '\n').Should().Be(1);
        CacheTrees(_sandbox.Cache).Should().BeEmpty();
    }

    /// <summary>
    /// A sample of the hostile images through the real launcher (the in-process fuzz tests cover
    /// many more): bounded for CI, FUZZ_ITERATIONS and FUZZ_SEED for longer runs.
    /// </summary>
    [Fact]
    [Trait("Category", "Fuzz")]
    public void Hostile_images_are_bad_archives_never_internal_errors()
    {
        var (bytes, path) = s_image.Value;
        int seed = HostileImages.Seed(1);
        int count = HostileImages.Iterations(100);
        var cases = HostileImages.MixedSample(bytes, path, count, seed);
        var problems = new List<string>();
        int rejected = 0, ran = 0, refusedByWriter = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            string archive;
            try
            {
                archive = Archive(cases[i].Apply(bytes), $"case-{i}");
            }
            catch (XarFormatException)
            {
                refusedByWriter++; // a superblock the writer refuses; XarArchive.Open refuses it the same way (Xar.Archive.Tests)
                continue;
            }
            // A cache of its own: a hostile tree may hold names .NET cannot delete (not UTF-8); the sandbox can.
            string cache = Path.Combine(_sandbox.Root, $"cache-{i}");
            RunResult result = Extract(archive, cache);
            string? problem = Problem(result, cache);
            if (problem is not null)
                problems.Add($"{cases[i].Name} (FUZZ_SEED={seed}): {problem}\n{result}");
            else if (result.ExitCode == (int)XarExitCode.BadArchive)
                rejected++;
            else
                ran++;
            File.Delete(archive);
        }
        problems.Take(5).Should().BeEmpty($"{problems.Count} of {cases.Count} cases misbehaved ({rejected} rejected, {ran} ran, {refusedByWriter} refused by the writer)");
    }

    /// <summary>
    /// Why <paramref name="result"/> is wrong, or null. The launcher's own failures are one
    /// "xarexec: " line: a bad archive (nothing left in the cache), or a target that the damage
    /// made missing or not executable. Anything else came from the target, which ran (a flip in its
    /// script may make it do anything).
    /// </summary>
    private static string? Problem(RunResult result, string cache)
    {
        if (result.ExitCode is 134 or (int)XarExitCode.Internal || result.Stderr.Contains("internal error")
            || result.Stderr.Contains("Unhandled exception") || result.Stderr.Contains("   at "))
            return "crashed or reported an internal error";
        if (!result.Stderr.StartsWith("xarexec: ", StringComparison.Ordinal))
            // Killed by a signal with nothing said: the launcher (a shell target dies of none here).
            return result.ExitCode >= 128 && result.Stderr.Length == 0 ? $"killed (status {result.ExitCode})" : null;
        if (result.Stderr.Count(c => c == '\n') != 1)
            return "more than one line on stderr";
        if (result.ExitCode is not ((int)XarExitCode.BadArchive or (int)XarExitCode.CannotExecute or (int)XarExitCode.TargetNotFound))
            return $"exit status {result.ExitCode}";
        if (result.ExitCode == (int)XarExitCode.BadArchive && CacheTrees(cache).Count > 0)
            return "left a tree in the cache: " + string.Join(", ", CacheTrees(cache));
        return null;
    }

    private RunResult Extract(string archive, string cache) =>
        Run.Program(Launcher.Path, [archive], environment: _sandbox.Env(new Dictionary<string, string?>(ForceExtraction) { ["XDG_CACHE_HOME"] = cache }),
            timeout: TimeSpan.FromSeconds(60));

    /// <summary>Trees in the launcher's cache under <paramref name="cache"/> (XDG_CACHE_HOME), finished or temporary.</summary>
    private static List<string> CacheTrees(string cache)
    {
        string trees = Path.Combine(cache, "xar");
        return Directory.Exists(trees) ? [.. Directory.GetDirectories(trees)] : [];
    }

    private string Archive(byte[] image, string name)
    {
        string archive = Path.Combine(_sandbox.Root, name + ".xar");
        var header = new XarHeaderFields { Version = 1, XarexecTarget = TestArchives.TargetPath, MountRoot = _sandbox.MountRoot };
        XarArchiveWriter.Write(archive, new XarWriteOptions { Header = header, Layout = XarLayout.Xarexec }, output => output.Write(image));
        return archive;
    }

    /// <summary>
    /// The test target and its data, a multi-block file with a hard link (an extended inode), a
    /// symlink and a directory, with uncompressed metadata so that <see cref="HostileImages"/> can
    /// find every field.
    /// </summary>
    private static (byte[], string) BuildImage()
    {
        var directory = new TempDirectory("hostile-image");
        string tree = directory.Combine("tree");
        Directory.CreateDirectory(Path.Combine(tree, "bin"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Targets", "target.sh"), Path.Combine(tree, TestArchives.TargetPath));
        File.SetUnixFileMode(Path.Combine(tree, TestArchives.TargetPath), (UnixFileMode)0x1ED);
        File.WriteAllText(Path.Combine(tree, "data.txt"), "data from the image\n");
        var data = new byte[20_000];
        new Random(3).NextBytes(data);
        File.WriteAllBytes(Path.Combine(tree, "blocks.bin"), data);
        Run.Checked("ln", [Path.Combine(tree, "blocks.bin"), Path.Combine(tree, "linked.bin")]);
        File.CreateSymbolicLink(Path.Combine(tree, "link"), "data.txt");
        Directory.CreateDirectory(Path.Combine(tree, "lib", "sub"));
        File.WriteAllText(Path.Combine(tree, "lib", "sub", "leaf"), "leaf");
        string image = directory.Combine("image.sqfs");
        Run.Checked("mksquashfs", [tree, image, "-b", "4K", "-noI", "-noD", "-noF", "-noX", "-no-xattrs", "-quiet", "-no-progress"]);
        return (File.ReadAllBytes(image), image);
    }
}
