using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>`xar cache list|prune|clear` underneath: real launches, a running app, launches racing a clear.</summary>
public sealed class CacheInventoryTests : IDisposable
{
    /// <summary>The suffix the launcher gives mount directories of this mount namespace.</summary>
    private static readonly string Ns = "-ns-" + new FileInfo("/proc/self/ns/mnt").LinkTarget!["mnt:[".Length..^1]; // "mnt:[INODE]"

    private static readonly Dictionary<string, string?> ForceExtraction = new() { ["XAR_MODE"] = "extract" };

    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private string CacheRoot => Path.Combine(_sandbox.Cache, "xar");

    /// <summary>Only the sandbox's roots: the machine's /var/tmp/xar-uid-0 is not the test's to clear.</summary>
    private CacheInventory Inventory() => new([(CacheRoot, false)], [_sandbox.MountRoot]);

    private static string ImageKey(string archive)
    {
        using XarArchive opened = XarArchive.Open(archive);
        return opened.Header.ImageSha256!;
    }

    private string Extracted(TargetKind target = TargetKind.Elf)
    {
        string archive = _sandbox.Archive(target);
        RunResult result = _sandbox.Launch(archive, extraEnvironment: ForceExtraction);
        result.ExitCode.Should().Be(0, result.ToString());
        return archive;
    }

    [Fact]
    public void List_shows_each_extraction_with_its_archive_size_and_last_use_and_the_leftovers()
    {
        string archive = Extracted();
        string key = ImageKey(archive);
        string tree = Path.Combine(CacheRoot, key);
        Directory.CreateDirectory(Path.Combine(CacheRoot, $".{key}.dead.tmp"));
        File.WriteAllText(Path.Combine(CacheRoot, new string('f', 64) + ".lock"), "");
        string userDirectory = Path.Combine(_sandbox.MountRoot, "uid-0");
        Directory.CreateDirectory(Path.Combine(userDirectory, $"MOUNT{Ns}"));
        File.SetUnixFileMode(userDirectory, (UnixFileMode)0x1ED);
        File.WriteAllText(Path.Combine(userDirectory, $"lockfile.MOUNT{Ns}"), "");
        File.WriteAllText(Path.Combine(userDirectory, $"verified.GONE{Ns}"), "");

        IReadOnlyList<CacheEntry> entries = Inventory().List();

        entries.Select(e => (e.Kind, e.Path, e.State, e.InUse)).Should().Equal(
            (CacheEntryKind.Extraction, Path.Combine(CacheRoot, $".{key}.dead.tmp"), "partial", false),
            (CacheEntryKind.Extraction, tree, "extracted", false),
            (CacheEntryKind.Extraction, Path.Combine(CacheRoot, new string('f', 64) + ".lock"), "orphaned", false),
            (CacheEntryKind.Mount, Path.Combine(userDirectory, $"MOUNT{Ns}"), "unmounted", false),
            (CacheEntryKind.Mount, Path.Combine(userDirectory, $"verified.GONE{Ns}"), "orphaned", false));
        CacheEntry extraction = entries[1];
        extraction.Archive.Should().Be(archive);
        extraction.Size.Should().Be(Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length));
        extraction.LastUse.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Clear_removes_mount_leftovers_and_keeps_a_live_mount()
    {
        string mounted = _sandbox.Archive(TargetKind.Elf);
        RunResult mount = _sandbox.Launch(mounted, extraEnvironment: new Dictionary<string, string?> { ["XAR_MODE"] = "mount" });
        mount.ExitCode.Should().Be(0, mount.ToString());
        string userDirectory = Path.Combine(_sandbox.MountRoot, "uid-0");
        string mountPoint = _sandbox.Mounts().Single().MountPoint;
        Directory.CreateDirectory(Path.Combine(userDirectory, $"IDLE{Ns}"));
        File.WriteAllText(Path.Combine(userDirectory, $"lockfile.IDLE{Ns}"), "");
        File.WriteAllText(Path.Combine(userDirectory, $"verified.IDLE{Ns}"), "");
        File.WriteAllText(Path.Combine(userDirectory, $"lockfile.GONE{Ns}"), "");
        // Another mount namespace's directory looks unmounted from here; removing it would detach a container's mount.
        string foreign = Path.Combine(userDirectory, "FOREIGN-ns-1");
        Directory.CreateDirectory(foreign);

        IReadOnlyList<CacheRemoval> cleared = Inventory().Clear();

        cleared.Select(r => (r.Entry.Path, r.Entry.State, r.Removed, r.Reason)).Should().BeEquivalentTo([
            (mountPoint, "mounted", false, "mounted"),
            (foreign, "other namespace", false, "in use"),
            (Path.Combine(userDirectory, $"IDLE{Ns}"), "unmounted", true, (string?)null),
            (Path.Combine(userDirectory, $"lockfile.GONE{Ns}"), "orphaned", true, (string?)null)]);
        Directory.EnumerateFileSystemEntries(userDirectory).Select(Path.GetFileName).Should().BeEquivalentTo(
            ["FOREIGN-ns-1", Path.GetFileName(mountPoint), "lockfile." + Path.GetFileName(mountPoint), "verified." + Path.GetFileName(mountPoint)]);
        _sandbox.Launch(mounted, ["read:data.txt"]).Stdout.Should().Be("mode=mount new=0\ndata from the image\n");
    }

    /// <summary>Below its top the tree keeps the image's modes (a 0777 directory): nobody else may enter it.</summary>
    [Fact]
    public void An_extracted_tree_is_closed_to_other_users()
    {
        string archive = Extracted();
        string tree = Path.Combine(CacheRoot, ImageKey(archive));

        ((int)File.GetUnixFileMode(tree) & 0x3F).Should().Be(0, "group and others get no access to the tree's top");
        File.SetUnixFileMode(tree, (UnixFileMode)0x1ED); // 0755: a tree others can enter is not trusted
        _sandbox.Launch(archive, extraEnvironment: ForceExtraction).ExitCode.Should().Be(0);
        ((int)File.GetUnixFileMode(tree) & 0x3F).Should().Be(0, "it was extracted anew, closed");
    }

    [Fact]
    public void A_launch_stamps_the_last_use_of_the_extraction_it_runs()
    {
        string archive = Extracted();
        string stamp = Path.Combine(CacheRoot, ImageKey(archive) + ".stamp");
        File.SetLastWriteTimeUtc(stamp, DateTime.UtcNow.AddDays(-30));

        _sandbox.Launch(archive, extraEnvironment: ForceExtraction).ExitCode.Should().Be(0);

        File.GetLastWriteTimeUtc(stamp).Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Prune_removes_leftovers_then_extractions_unused_for_the_duration_then_the_least_recently_used_beyond_the_size()
    {
        string[] archives = [Extracted(), Extracted(), Extracted()];
        string[] trees = [.. archives.Select(a => Path.Combine(CacheRoot, ImageKey(a)))];
        int[] ageInDays = [30, 2, 1];
        for (int i = 0; i < 3; i++)
            File.SetLastWriteTimeUtc(trees[i] + ".stamp", DateTime.UtcNow.AddDays(-ageInDays[i]));
        string partial = Path.Combine(CacheRoot, $".{ImageKey(archives[0])}.dead.tmp");
        Directory.CreateDirectory(Path.Combine(partial, "sub"));
        long size = Inventory().List().Single(e => e.Path == trees[1]).Size!.Value;

        IReadOnlyList<CacheRemoval> removed = Inventory().Prune(TimeSpan.FromDays(7), maxSize: size, DateTimeOffset.UtcNow);

        removed.Should().OnlyContain(r => r.Removed);
        removed.Select(r => r.Entry.Path).Should().Equal(partial, trees[0], trees[1]);
        Directory.Exists(trees[2]).Should().BeTrue("it is the most recently used and fits in the size");
        Directory.EnumerateFileSystemEntries(CacheRoot).Select(Path.GetFileName).Should()
            .BeEquivalentTo([Path.GetFileName(trees[2]), Path.GetFileName(trees[2]) + ".stamp", Path.GetFileName(trees[2]) + ".lock"],
                "a pruned extraction leaves neither its stamp nor its lock file");
    }

    [Fact]
    public async Task A_running_app_keeps_its_extraction_through_prune_and_clear_until_it_exits()
    {
        string archive = Extracted();
        string tree = Path.Combine(CacheRoot, ImageKey(archive));
        Task<RunResult> running = Task.Run(() => _sandbox.Launch(archive, ["sleep:3", "read:data.txt"], extraEnvironment: ForceExtraction));
        SpinWait.SpinUntil(() => Inventory().List().Any(e => e.Path == tree && e.InUse), TimeSpan.FromSeconds(20)).Should().BeTrue("the app holds its tree");

        IReadOnlyList<CacheRemoval> pruned = Inventory().Prune(TimeSpan.Zero, 0, DateTimeOffset.UtcNow.AddDays(1));
        IReadOnlyList<CacheRemoval> cleared = Inventory().Clear();

        pruned.Should().ContainSingle().Which.Should().Match<CacheRemoval>(r => !r.Removed && r.Reason == "in use");
        cleared.Should().ContainSingle().Which.Should().Match<CacheRemoval>(r => !r.Removed && r.Reason == "in use");
        RunResult result = await running;
        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be("mode=extract new=0\ndata from the image\n", "the tree stayed while the app ran");
        Inventory().Clear().Should().ContainSingle().Which.Removed.Should().BeTrue();
        Directory.Exists(tree).Should().BeFalse();
    }

    [Fact]
    public async Task Launches_racing_clears_all_run_their_target()
    {
        string archive = Extracted(TargetKind.Elf);
        using var stop = new CancellationTokenSource();
        int clears = 0;
        Task clearing = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Inventory().Clear();
                clears++;
            }
        });

        RunResult[] results;
        try
        {
            results = MountRungTests.Parallel(16, () => _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: ForceExtraction));
        }
        finally
        {
            stop.Cancel();
            await clearing;
        }

        results.Should().OnlyContain(r => r.ExitCode == 0 && r.Stdout.EndsWith("\ndata from the image\n") && r.Stderr == "", string.Join("\n", results));
        clears.Should().BeGreaterThan(0);
    }
}
