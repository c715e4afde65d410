using Xar.Archive;
using Xar.SquashFs.Writing;

namespace Xar.Runtime.Tests;

/// <summary>The extraction rung end to end: forced, automatic when FUSE is unavailable, noexec caches, concurrency, corruption.</summary>
public sealed class ExtractionRungTests : IDisposable
{
    private static readonly Dictionary<string, string?> ForceExtraction = new() { ["XAR_MODE"] = "extract" };

    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private static string ImageKey(string archive)
    {
        using XarArchive opened = XarArchive.Open(archive);
        return opened.Header.ImageSha256!;
    }

    [Theory]
    [MemberData(nameof(LaunchTests.Matrix), MemberType = typeof(LaunchTests))]
    public void A_forced_extraction_runs_the_target_and_later_runs_reuse_it(TargetKind target, XarLayout layout)
    {
        string archive = _sandbox.Archive(target, layout);
        string tree = Path.Combine(_sandbox.Cache, "xar", ImageKey(archive));

        RunResult first = _sandbox.Launch(archive, ["a b", "read:data.txt", "exit:42"], extraEnvironment: ForceExtraction);
        RunResult second = _sandbox.Launch(archive, ["stdin", "env:XAR_MOUNT"], stdin: "in\n", extraEnvironment: ForceExtraction);

        first.ExitCode.Should().Be(42, first.ToString());
        first.Stdout.Should().Be("mode=extract new=1\narg=[a b]\ndata from the image\n");
        second.Stdout.Should().Be($"mode=extract new=0\nin\nXAR_MOUNT={tree}\n");
        _sandbox.Launch(archive, ["kill:15"], extraEnvironment: ForceExtraction).ExitCode.Should().Be(128 + 15);
        _sandbox.Mounts().Should().BeEmpty();
        File.ReadAllText(Path.Combine(tree, "data.txt")).Should().Be("data from the image\n");
    }

    [Fact]
    public void With_squashfuse_ll_chosen_but_missing_the_launcher_extracts_automatically()
    {
        string archive = _sandbox.Archive(TargetKind.Shell);
        string bin = Path.Combine(_sandbox.Root, "bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "cat"), "/bin/cat");
        var noFuse = new Dictionary<string, string?> { ["PATH"] = bin, ["XAR_FUSE_SERVER"] = "squashfuse_ll" };

        RunResult first = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: noFuse);
        RunResult second = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: noFuse);

        first.ExitCode.Should().Be(0, first.ToString());
        first.Stdout.Should().Be("mode=extract new=1\ndata from the image\n");
        second.Stdout.Should().Be("mode=extract new=0\ndata from the image\n");
        _sandbox.Mounts().Should().BeEmpty();
    }

    [Fact]
    public void A_cache_on_a_noexec_mount_is_avoided()
    {
        string noexec = Path.Combine(_sandbox.Root, "noexec");
        Directory.CreateDirectory(noexec);
        Run.Program("mount", ["-t", "tmpfs", "-o", "noexec,size=16m", "tmpfs", noexec]).ExitCode.Should().Be(0, "the tests run as root");
        string archive = _sandbox.Archive(TargetKind.Elf);
        var environment = new Dictionary<string, string?>(ForceExtraction) { ["XDG_CACHE_HOME"] = noexec };

        RunResult result = _sandbox.Launch(archive, ["env:XAR_MOUNT"], extraEnvironment: environment);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be($"mode=extract new=1\nXAR_MOUNT={Path.Combine(_sandbox.Home, ".cache", "xar", ImageKey(archive))}\n");
        Directory.EnumerateFileSystemEntries(noexec).Should().BeEmpty();
    }

    [Fact]
    public void Thirty_two_simultaneous_first_launches_all_succeed_with_exactly_one_extraction()
    {
        string archive = _sandbox.Archive(TargetKind.Elf, XarLayout.Self);

        RunResult[] results = MountRungTests.Parallel(32, () => _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: ForceExtraction));

        results.Should().OnlyContain(r => r.ExitCode == 0 && r.Stdout.EndsWith("\ndata from the image\n"), string.Join("\n", results));
        results.Count(r => r.Stdout.StartsWith("mode=extract new=1\n")).Should().Be(1, "exactly one launch extracted");
        Directory.EnumerateDirectories(Path.Combine(_sandbox.Cache, "xar")).Should().ContainSingle()
            .Which.Should().EndWith(ImageKey(archive), "no temporary directory is left");
    }

    [Fact]
    public void A_corrupted_image_is_not_extracted()
    {
        string archive = _sandbox.Archive(TargetKind.Elf);
        using (var stream = new FileStream(archive, FileMode.Open))
        {
            stream.Position = 4096 + 200;
            int value = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(value ^ 0xFF));
        }

        RunResult result = _sandbox.Launch(archive, extraEnvironment: ForceExtraction);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: {archive}: image SHA-256 mismatch");
        // The image is verified under the cache's per-key lock, so the cache directory and the
        // lock file may exist; no tree, finished or temporary, may.
        string cache = Path.Combine(_sandbox.Cache, "xar");
        (Directory.Exists(cache) ? Directory.GetDirectories(cache) : []).Should().BeEmpty();
    }

    /// <summary>
    /// The image is hashed while it is extracted: a changed byte the reader never looks at (the
    /// padding after the SquashFS data) lets the extraction finish, and the tree must still not
    /// be kept, nor the target run.
    /// </summary>
    [Fact]
    public void An_image_that_extracts_but_does_not_match_its_hash_leaves_no_tree()
    {
        string archive = _sandbox.Archive(TargetKind.Elf);
        using (var stream = new FileStream(archive, FileMode.Open))
        {
            stream.Position = stream.Length - 1;
            stream.ReadByte().Should().Be(0, "the image ends in padding");
            stream.Position--;
            stream.WriteByte(0xFF);
        }

        RunResult result = _sandbox.Launch(archive, extraEnvironment: ForceExtraction);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: {archive}: image SHA-256 mismatch");
        result.Stdout.Should().BeEmpty("the target does not run");
        string cache = Path.Combine(_sandbox.Cache, "xar");
        (Directory.Exists(cache) ? Directory.GetDirectories(cache) : []).Should().BeEmpty();
    }

    /// <summary>
    /// Inside the tree the image's modes stand (a 0777 directory, a 0666 file), so its top must
    /// keep group and others out from the moment it exists: someone who entered while it was
    /// written could keep a descriptor on such a directory and change it after. The image's root
    /// is 0755 and the test's umask lets a new directory be open to others; the temporary tree is
    /// watched while it is written.
    /// </summary>
    [Fact]
    public async Task Nobody_else_can_enter_a_tree_while_it_is_extracted()
    {
        var files = Enumerable.Range(0, 3000).ToDictionary(i => $"data/d{i % 60}/f{i}.txt", i => new string((char)('a' + i % 26), 3000 + i));
        string archive = _sandbox.Archive(TargetKind.Elf, extraFiles: files);
        string cache = Path.Combine(_sandbox.Cache, "xar");
        var open = new HashSet<string>();
        int seen = 0;
        using var done = new ManualResetEventSlim();
        var watcher = Task.Factory.StartNew(() =>
        {
            while (!done.IsSet)
            {
                foreach (string tree in Directory.Exists(cache) ? Directory.EnumerateDirectories(cache, ".*.tmp") : [])
                {
                    if (Xar.Interop.LibC.Stat(tree, followSymlinks: false, out Xar.Interop.StatX stat) != 0)
                        continue; // renamed meanwhile
                    seen++;
                    if ((stat.Permissions & 0x3F) != 0)
                        open.Add($"{tree}: {Convert.ToString(stat.Permissions, 8)}");
                }
            }
        }, TaskCreationOptions.LongRunning);

        RunResult result = _sandbox.Launch(archive, extraEnvironment: ForceExtraction);
        done.Set();
        await watcher;

        result.ExitCode.Should().Be(0, result.ToString());
        seen.Should().BePositive("the temporary tree was watched while it was written");
        open.Should().BeEmpty();
    }

    [Fact]
    public void An_archive_without_an_image_hash_is_extracted_under_the_hash_of_its_image()
    {
        string archive = _sandbox.Archive(TargetKind.Shell);
        string key = ImageKey(archive);
        byte[] bytes = File.ReadAllBytes(archive);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 0, 4096);
        string withoutHash = string.Join('\n', header.Split('\n').Where(line => !line.StartsWith("XAR_IMAGE_SHA256=")));
        byte[] newHeader = new byte[4096];
        newHeader.AsSpan().Fill((byte)'\n');
        System.Text.Encoding.UTF8.GetBytes(withoutHash.TrimEnd('\n') + "\n").CopyTo(newHeader, 0);
        newHeader.CopyTo(bytes, 0);
        File.WriteAllBytes(archive, bytes);

        RunResult result = _sandbox.Launch(archive, ["env:XAR_MOUNT"], extraEnvironment: ForceExtraction);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be($"mode=extract new=1\nXAR_MOUNT={Path.Combine(_sandbox.Cache, "xar", key)}\n");
    }

    [Fact]
    public void An_unprivileged_user_without_access_to_dev_fuse_gets_an_extraction_in_its_own_cache()
    {
        string archive = _sandbox.Archive(TargetKind.Elf, XarLayout.Self);
        File.SetUnixFileMode(_sandbox.Root, (UnixFileMode)0x1ED);
        File.SetUnixFileMode(archive, (UnixFileMode)0x1ED);
        Run.Program("chown", ["65534:65534", _sandbox.Home]).ExitCode.Should().Be(0);

        RunResult result = Run.Program("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", archive, "env:XAR_MOUNT"],
            environment: _sandbox.Env(null));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be($"mode=extract new=1\nXAR_MOUNT={Path.Combine(_sandbox.Home, ".cache", "xar", ImageKey(archive))}\n",
            "/dev/fuse is root's only, and XDG_CACHE_HOME is not writable for uid 65534, so HOME's cache is used");
        _sandbox.Mounts().Should().BeEmpty();
    }

    /// <summary>A tree at the archive's key in <paramref name="cache"/> whose bin/app prints "planted" and leaves a marker file.</summary>
    private string Plant(string cache, string archive)
    {
        string planted = Path.Combine(cache, ImageKey(archive));
        string marker = Path.Combine(_sandbox.Root, "planted-ran");
        Directory.CreateDirectory(Path.Combine(planted, "bin"));
        File.WriteAllText(Path.Combine(planted, "bin", "app"), $"#!/bin/sh\ntouch {marker}\necho planted\n");
        File.SetUnixFileMode(Path.Combine(planted, "bin", "app"), (UnixFileMode)0x1ED);
        File.SetUnixFileMode(cache, (UnixFileMode)0x1C0);
        return marker;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Root_with_another_users_HOME_as_sudo_E_gives_it_does_not_run_a_tree_planted_in_that_cache(bool cacheOfTheUser)
    {
        string archive = _sandbox.Archive(TargetKind.Shell);
        string userCache = Path.Combine(_sandbox.Home, ".cache", "xar");
        string marker = Plant(userCache, archive);
        File.WriteAllText(Path.Combine(userCache, ImageKey(archive) + ".stamp"), "forged by the user\n");
        // The user's home; with cacheOfTheUser, the cache too (planted by the user), else the
        // cache is root's (left by an earlier sudo -E launch) but the user can rename it away.
        Run.Checked("chown", cacheOfTheUser ? ["-R", "65534:65534", _sandbox.Home] : ["65534:65534", _sandbox.Home]);
        string runtime = Path.Combine(_sandbox.Root, "run");
        Directory.CreateDirectory(runtime);
        var sudoE = new Dictionary<string, string?>(ForceExtraction) { ["XDG_CACHE_HOME"] = null, ["XDG_RUNTIME_DIR"] = runtime };

        RunResult result = _sandbox.Launch(archive, ["env:XAR_MOUNT"], extraEnvironment: sudoE);

        result.ExitCode.Should().Be(0, result.ToString());
        File.Exists(marker).Should().BeFalse("root must not run what another user planted");
        result.Stdout.Should().Be($"mode=extract new=1\nXAR_MOUNT={Path.Combine(runtime, "xar", ImageKey(archive))}\n");
        result.Stderr.Should().StartWith($"xarexec: {archive}: skipping cache {userCache}: ").And.Contain("owned by uid 65534").And.NotContain("\n\n");
    }

    [Fact]
    public void A_tree_in_the_callers_cache_without_the_stamp_of_its_extraction_is_extracted_anew_not_run()
    {
        string archive = _sandbox.Archive(TargetKind.Shell);
        Directory.CreateDirectory(Path.Combine(_sandbox.Cache, "xar"));
        string marker = Plant(Path.Combine(_sandbox.Cache, "xar"), archive);

        RunResult result = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: ForceExtraction);

        result.ExitCode.Should().Be(0, result.ToString());
        File.Exists(marker).Should().BeFalse();
        result.Stdout.Should().Be("mode=extract new=1\ndata from the image\n");
        result.Stderr.Should().BeEmpty();
    }

    [Fact]
    public void An_image_nested_beyond_PATH_MAX_fails_to_extract_and_leaves_no_temporary_tree_launch_after_launch()
    {
        // 40 levels of 200-character names: 8,040 characters, twice PATH_MAX.
        string name = new('d', 200);
        var deep = Enumerable.Range(1, 40).Select(depth => ImageEntry.Directory(string.Join('/', Enumerable.Repeat(name, depth)))).ToList();
        string archive = TestArchives.Build(_sandbox.Root, TargetKind.Shell, XarLayout.Xarexec, _sandbox.MountRoot, extraEntries: deep);
        string cache = Path.Combine(_sandbox.Cache, "xar");

        for (int launch = 1; launch <= 2; launch++)
        {
            RunResult result = _sandbox.Launch(archive, extraEnvironment: ForceExtraction);

            result.ExitCode.Should().Be((int)XarExitCode.CannotCreate, result.ToString());
            result.Stderr.Should().StartWith($"xarexec: {archive}: cannot extract into {cache}/.{ImageKey(archive)}.");
            Directory.GetDirectories(cache).Should().BeEmpty($"launch {launch} deleted its temporary tree");
        }
    }

    [Fact]
    public void A_failed_extraction_nested_deeper_than_the_descriptor_limit_is_removed_all_the_same()
    {
        // 1,400 levels of two-character names: extraction stops at PATH_MAX some 1,365 levels
        // down, far more than the 512 descriptors the launch may have open.
        var deep = new List<ImageEntry>();
        var path = new System.Text.StringBuilder("dd");
        for (int level = 0; level < 1400; level++, path.Append("/dd"))
            deep.Add(ImageEntry.Directory(path.ToString()));
        string archive = TestArchives.Build(_sandbox.Root, TargetKind.Shell, XarLayout.Xarexec, _sandbox.MountRoot, extraEntries: deep);

        RunResult result = Run.Program("prlimit", ["--nofile=512", Launcher.Path, archive], environment: _sandbox.Env(ForceExtraction));

        result.ExitCode.Should().Be((int)XarExitCode.CannotCreate, result.ToString());
        Directory.GetDirectories(Path.Combine(_sandbox.Cache, "xar")).Should().BeEmpty();
    }
}
