using System.Diagnostics;
using Xar.SquashFs;

namespace Xar.Fuse.Tests;

/// <summary>
/// Hostile images served by our server under the kernel: the request that meets the damage fails
/// (EIO), the rest of the image is still served, and the server neither ends, spins nor grows —
/// for a damaged directory table, inode, fragment table and block word, a superblock the reader
/// refuses, and a bounded sample of <see cref="HostileImages"/>' cases (walked with find and cat).
/// </summary>
public sealed class HostileImageServingTests
{
    private static readonly Lazy<(byte[] Bytes, string Path)> s_image = new(BuildImage);

    /// <summary>
    /// A tree with files in blocks and in the fragment, a hard link (an extended inode), a symlink
    /// and nested directories, with uncompressed metadata so <see cref="HostileImages"/> finds every field.
    /// </summary>
    private static (byte[], string) BuildImage()
    {
        var directory = new TempDirectory("hostile-served");
        string tree = directory.Combine("tree");
        Directory.CreateDirectory(Path.Combine(tree, "lib", "sub"));
        File.WriteAllText(Path.Combine(tree, "data.txt"), "data from the image\n");
        File.WriteAllText(Path.Combine(tree, "other.txt"), "another file\n");
        var data = new byte[20_000];
        new Random(3).NextBytes(data);
        File.WriteAllBytes(Path.Combine(tree, "blocks.bin"), data);
        Run.Checked("ln", [Path.Combine(tree, "blocks.bin"), Path.Combine(tree, "linked.bin")]);
        File.CreateSymbolicLink(Path.Combine(tree, "link"), "data.txt");
        File.WriteAllText(Path.Combine(tree, "lib", "sub", "leaf"), "leaf");
        string image = directory.Combine("image.sqfs");
        Run.Checked("mksquashfs", [tree, image, "-b", "4K", "-noI", "-noD", "-noF", "-noX", "-no-xattrs", "-quiet", "-no-progress"]);
        return (File.ReadAllBytes(image), image);
    }

    private static string Patched(TempDirectory scratch, string field, ulong value)
    {
        var (bytes, path) = s_image.Value;
        byte[] copy = (byte[])bytes.Clone();
        HostileImages.Fields(copy, path).Single(f => f.Name == field).Write(copy, value);
        string image = scratch.Combine("image.sqfs");
        File.WriteAllBytes(image, copy);
        return image;
    }

    /// <summary>Runs a shell command on the mount in a child process (a request that never ends shows as its timeout).</summary>
    private static RunResult Shell(ServedMount mount, string command) =>
        Run.Program("sh", ["-c", command], workingDirectory: mount.Directory, timeout: TimeSpan.FromSeconds(60));

    /// <remarks>
    /// The root's listing names every child, a damaged one too, as the kernel's squashfs driver
    /// lists it (it reads no child's inode to list; squashfuse_ll lists it too): only what reads
    /// a damaged inode (stat, open) fails. <paramref name="statted"/> is the name whose stat fails, if any.
    /// </remarks>
    [Theory]
    [InlineData("directory table", "inode of '/lib' (Directory) start_block", 0xFFFF_FFF0UL, "ls lib", "cat data.txt", "lib")]
    [InlineData("inode", "inode of '/data.txt' (File) type", 0xFFFFUL, "cat data.txt", "cat other.txt", "data.txt")]
    [InlineData("fragment table", "fragment record 0 start", 0x7FFF_FFFF_FFFF_FFF0UL, "cat data.txt", "head -c 4096 blocks.bin | wc -c", null)]
    [InlineData("block word", "inode of '/blocks.bin' (ExtendedFile) block word 0", 0x00FF_FFFFUL, "head -c 4096 blocks.bin", "cat data.txt", null)]
    public void A_damaged_structure_is_EIO_for_what_needs_it_and_the_rest_is_served(string what, string field, ulong value, string damaged, string intact,
        string? statted)
    {
        using var scratch = new TempDirectory("hostile-served");
        using var mount = new ServedMount(Patched(scratch, field, value));

        RunResult broken = Shell(mount, damaged);
        RunResult whole = Shell(mount, intact);

        broken.ExitCode.Should().NotBe(0, $"{what}: {broken}");
        broken.Stderr.Should().Contain("Input/output error", what);
        whole.ExitCode.Should().Be(0, $"{what}: {whole}");
        RunResult listing = Shell(mount, "ls -a");
        listing.ExitCode.Should().Be(0, $"{what}: {listing}");
        listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should()
            .BeEquivalentTo([".", "..", "blocks.bin", "data.txt", "lib", "link", "linked.bin", "other.txt"], what);
        RunResult detailed = Shell(mount, "ls -l");
        if (statted is null)
            detailed.ExitCode.Should().Be(0, $"{what}: {detailed}");
        else
            detailed.Stderr.Should().Be($"ls: cannot access '{statted}': Input/output error\n", what);
        Shell(mount, "stat -f . >/dev/null && echo served").Stdout.Should().Be("served\n", $"{what}: the server answers");
        mount.Session.Failure.Should().BeNull();
        mount.Ended(TimeSpan.Zero).Should().BeFalse("the server serves on");
    }

    [Fact]
    public void A_block_size_the_reader_refuses_fails_the_server_before_it_serves()
    {
        using var scratch = new TempDirectory("hostile-served");
        string image = Patched(scratch, "superblock block_size", 1 << 20);

        var serve = () => new ServedMount(image);

        serve.Should().Throw<SquashFsException>().WithMessage("*block_log 12 does not match block size 1048576*");
    }

    /// <summary>
    /// A sample of the hostile images (bounded for CI; FUZZ_ITERATIONS and FUZZ_SEED for longer
    /// runs): each one the reader opens is mounted, walked (every name listed and stat'ed, every
    /// file read) in a child process with a deadline, and must leave the server serving — the walk
    /// ends, the loop is alive, statfs answers — with the test process's memory bounded.
    /// </summary>
    [Fact]
    [Trait("Category", "Fuzz")]
    public void Hostile_images_fail_requests_never_the_server()
    {
        var (bytes, path) = s_image.Value;
        int seed = HostileImages.Seed(1);
        int count = HostileImages.Iterations(40);
        var cases = HostileImages.MixedSample(bytes, path, count, seed);
        var problems = new List<string>();
        int refused = 0, served = 0;
        long largestWorkingSet = 0;
        using var scratch = new TempDirectory("hostile-served");
        foreach (var hostile in cases)
        {
            string image = scratch.Combine("image.sqfs");
            File.WriteAllBytes(image, hostile.Apply(bytes));
            ServedMount mount;
            try
            {
                mount = new ServedMount(image);
            }
            catch (SquashFsException)
            {
                refused++;
                continue;
            }
            using (mount)
            {
                RunResult walk = Shell(mount, "find . -exec ls -ld {} + >/dev/null 2>&1; find . -type f -exec cat {} + >/dev/null 2>&1; stat -f . >/dev/null && echo served");
                if (walk.Stdout != "served\n")
                    problems.Add($"{hostile.Name} (FUZZ_SEED={seed}): the walk did not end or statfs failed: {walk}");
                else if (mount.Session.Failure is { } failure)
                    problems.Add($"{hostile.Name} (FUZZ_SEED={seed}): the server failed: {failure}");
                else if (mount.Ended(TimeSpan.Zero))
                    problems.Add($"{hostile.Name} (FUZZ_SEED={seed}): the server stopped serving");
                served++;
            }
            largestWorkingSet = Math.Max(largestWorkingSet, Process.GetCurrentProcess().WorkingSet64);
        }
        problems.Take(5).Should().BeEmpty($"{problems.Count} of {cases.Count} cases misbehaved ({refused} refused at open, {served} served)");
        served.Should().BeGreaterThan(cases.Count / 2, $"most damage is past the superblock, where only requests meet it ({refused} refused at open)");
        largestWorkingSet.Should().BeLessThan(2L << 30, "no hostile size makes the server allocate what the image claims");
    }
}
