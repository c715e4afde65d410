using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// The FUSE rung: naming, reuse, flags, idle unmount, stale mounts and concurrent first launches,
/// with the default server (ours) and, where the server matters, with squashfuse_ll too (XAR_FUSE_SERVER).
/// </summary>
public sealed class MountRungTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void The_mount_follows_the_original_naming_under_the_archive_MOUNT_ROOT()
    {
        string archive = _sandbox.Archive();
        using XarArchive opened = XarArchive.Open(archive);
        string mountNamespace = new FileInfo("/proc/self/ns/mnt").ResolveLinkTarget(false)!.Name; // mnt:[N]
        string namespaceInode = mountNamespace[5..^1];

        RunResult printed = _sandbox.Xarexec("-n", archive);

        printed.ExitCode.Should().Be(0, printed.ToString());
        string mountPath = printed.Stdout.TrimEnd('\n');
        mountPath.Should().StartWith($"{_sandbox.MountRoot}/uid-0/{opened.Header.Uuid}-seed-nspid").And.EndWith($"-ns-{namespaceInode}");
        Directory.Exists(Path.Combine(_sandbox.MountRoot, "uid-0")).Should().BeFalse("-n creates nothing (docs/xar-format.md R17)");

        RunResult mounted = _sandbox.Xarexec("-m", archive);

        mounted.ExitCode.Should().Be(0, mounted.ToString());
        mounted.Stdout.Should().Be(mountPath + "\n");
        _sandbox.Mounts().Should().ContainSingle().Which.Should().Be((mountPath, "fuse.xar"));
        File.ReadAllText(Path.Combine(mountPath, "data.txt")).Should().Be("data from the image\n");
        File.Exists(Path.Combine(_sandbox.MountRoot, "uid-0", "lockfile." + Path.GetFileName(mountPath))).Should().BeTrue();
        UnixFileMode ownDirectory = (UnixFileMode)0x1ED;
        File.GetUnixFileMode(Path.Combine(_sandbox.MountRoot, "uid-0")).Should().Be(ownDirectory);
    }

    [Fact]
    public void XAR_MOUNT_SEED_replaces_the_namespace_part_of_the_name()
    {
        string archive = _sandbox.Archive();
        using XarArchive opened = XarArchive.Open(archive);

        RunResult printed = Run.Program(Launcher.Path, ["-n", archive], environment: _sandbox.Env(new Dictionary<string, string?> { ["XAR_MOUNT_SEED"] = "myseed" }));

        printed.Stdout.Should().MatchRegex($"^{_sandbox.MountRoot}/uid-0/{opened.Header.Uuid}-seed-myseed-ns-\\d+\n$");
    }

    /// <summary>The servers a mount can have: ours (the default) and squashfuse_ll.</summary>
    public static TheoryData<string> Servers() => ["xar", "squashfuse_ll"];

    [Theory]
    [MemberData(nameof(Servers))]
    public void The_idle_timeout_unmounts_after_the_target_exits_but_not_while_it_runs(string server)
    {
        string archive = _sandbox.Archive(TargetKind.Elf);
        var environment = new Dictionary<string, string?> { ["XAR_MOUNT_TIMEOUT"] = "1", ["XAR_FUSE_SERVER"] = server };

        RunResult running = _sandbox.Launch(archive, ["sleep:4", "read:data.txt"], extraEnvironment: environment);

        running.ExitCode.Should().Be(0, running.ToString());
        running.Stdout.Should().Be("mode=mount new=1\ndata from the image\n", "the mount outlives an idle timeout of 1 s while the target runs");
        WaitUntil(() => _sandbox.Mounts().Count == 0, TimeSpan.FromSeconds(15))
            .Should().BeTrue("the server unmounts once the target, and the descriptor it inherited, are gone");
        WaitUntil(() => _sandbox.ServerProcesses().Count == 0, TimeSpan.FromSeconds(15)).Should().BeTrue("the server exits with its mount");
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public void The_idle_timeout_ends_the_server_even_while_another_mount_namespace_holds_a_copy_of_the_mount(string server)
    {
        string archive = _sandbox.Archive();
        _sandbox.Environment["XAR_MOUNT_TIMEOUT"] = "1";
        _sandbox.Environment["XAR_FUSE_SERVER"] = server;
        RunResult mounted = _sandbox.Xarexec("-m", archive);
        mounted.ExitCode.Should().Be(0, mounted.ToString());
        string mountPath = mounted.Stdout.TrimEnd('\n');
        // What unshare or a container runtime does while the mount exists: the copy keeps the kernel's connection.
        using var copy = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("unshare", ["--mount", "--propagation", "private", "sleep", "infinity"]))!;
        try
        {
            WaitUntil(() => File.ReadAllText($"/proc/{copy.Id}/mountinfo").Contains(mountPath) || copy.HasExited, TimeSpan.FromSeconds(10))
                .Should().BeTrue("unshare copies the mounts at once");

            WaitUntil(() => _sandbox.Mounts().Count == 0, TimeSpan.FromSeconds(15)).Should().BeTrue("nothing uses the mount here");
            WaitUntil(() => _sandbox.ServerProcesses().Count == 0, TimeSpan.FromSeconds(15))
                .Should().BeTrue("the server ends with its idle unmount, not with the last namespace holding a copy");
            copy.HasExited.Should().BeFalse();
            CanList(Path.Combine($"/proc/{copy.Id}/root", mountPath.TrimStart('/'))).Should().BeFalse("the copy is left without a server (ENOTCONN)");
        }
        finally
        {
            copy.Kill();
        }
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public void A_killed_server_leaves_a_stale_mount_that_the_next_launch_replaces(string server)
    {
        string archive = _sandbox.Archive();
        _sandbox.Environment["XAR_FUSE_SERVER"] = server;
        _sandbox.Launch(archive).Stdout.Should().StartWith("mode=mount new=1");
        string mountPath = _sandbox.Mounts().Single().MountPoint;
        foreach (int pid in _sandbox.ServerProcesses(mountPath))
            System.Diagnostics.Process.GetProcessById(pid).Kill();
        WaitUntil(() => !CanList(mountPath), TimeSpan.FromSeconds(10)).Should().BeTrue("the mount is stale (ENOTCONN)");

        RunResult relaunched = _sandbox.Launch(archive, ["read:data.txt"]);

        relaunched.ExitCode.Should().Be(0, relaunched.ToString());
        relaunched.Stdout.Should().Be("mode=mount new=1\ndata from the image\n");
        _sandbox.Mounts().Should().ContainSingle();
        _sandbox.ServerProcesses(mountPath).Should().ContainSingle();
    }

    [Theory]
    [InlineData("squashfuse_ll")]
    [InlineData("xar")]
    public void A_stopped_server_does_not_hang_the_next_launch_which_detaches_it_and_mounts_anew(string serverName)
    {
        string archive = _sandbox.Archive();
        _sandbox.Environment["XAR_FUSE_SERVER"] = serverName;
        _sandbox.Launch(archive).Stdout.Should().StartWith("mode=mount new=1");
        string mountPath = _sandbox.Mounts().Single().MountPoint;
        int server = _sandbox.ServerProcesses(mountPath).Single();
        StopEveryThread(server);
        try
        {
            // A launch that waits for the stopped server never ends: the deadline makes it fail instead.
            RunResult relaunched = _sandbox.Launch(archive, ["read:data.txt"], timeout: TimeSpan.FromSeconds(60));

            relaunched.ExitCode.Should().Be(0, relaunched.ToString());
            relaunched.Stdout.Should().Be("mode=mount new=1\ndata from the image\n");
            // Only the new mount is attached (mountinfo is read without touching the mounts).
            _sandbox.Mounts().Should().ContainSingle();
            _sandbox.ServerProcesses(mountPath).Should().HaveCount(2, "the stopped server is detached, not killed");
        }
        finally
        {
            System.Diagnostics.Process.GetProcessById(server).Kill();
        }
    }

    [Theory]
    [InlineData("xar", "squashfuse_ll")]
    [InlineData("squashfuse_ll", "xar")]
    public void A_mount_of_either_server_is_reused_by_a_launch_that_would_mount_with_the_other(string mountedBy, string launchedWith)
    {
        string archive = _sandbox.Archive();
        _sandbox.Launch(archive, extraEnvironment: new Dictionary<string, string?> { ["XAR_FUSE_SERVER"] = mountedBy }).Stdout.Should().Be("mode=mount new=1\n");

        RunResult reused = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: new Dictionary<string, string?> { ["XAR_FUSE_SERVER"] = launchedWith });

        reused.Stdout.Should().Be("mode=mount new=0\ndata from the image\n", reused.ToString());
        _sandbox.Mounts().Should().ContainSingle().Which.FsType.Should().Be(mountedBy == "xar" ? "fuse.xar" : "fuse.squashfuse_ll");
    }

    [Fact]
    public void A_mount_under_a_MOUNT_ROOT_reached_through_a_symlink_is_found_and_reused_not_mounted_over()
    {
        // mountinfo names the mount by its real path; the launcher's check for "nothing mounted there" must too.
        string linkedRoot = Path.Combine(_sandbox.Root, "linked-mnt");
        File.CreateSymbolicLink(linkedRoot, _sandbox.MountRoot);
        string archive = TestArchives.Build(_sandbox.Root, TargetKind.Shell, XarLayout.Xarexec, linkedRoot);

        _sandbox.Launch(archive).Stdout.Should().Be("mode=mount new=1\n");
        RunResult reused = _sandbox.Launch(archive, ["read:data.txt"]);

        reused.Stdout.Should().Be("mode=mount new=0\ndata from the image\n", reused.ToString());
        _sandbox.Mounts().Should().ContainSingle();
    }

    [Fact]
    public void A_relative_MOUNT_ROOT_is_refused_in_one_line()
    {
        string archive = _sandbox.Archive();
        // The writer refuses a relative MOUNT_ROOT: turn the absolute one into a relative path
        // of the same length that names the same directory from the sandbox's root.
        string absolute = _sandbox.MountRoot;
        string relative = string.Concat(Enumerable.Repeat("./", (absolute.Length - 3) / 2)) + "mnt";
        if (relative.Length < absolute.Length)
            relative += "/";
        byte[] bytes = File.ReadAllBytes(archive);
        string text = System.Text.Encoding.Latin1.GetString(bytes);
        int at = text.IndexOf($"MOUNT_ROOT=\"{absolute}\"", StringComparison.Ordinal);
        at.Should().BePositive();
        System.Text.Encoding.ASCII.GetBytes(relative).CopyTo(bytes, at + "MOUNT_ROOT=\"".Length);
        File.WriteAllBytes(archive, bytes);

        RunResult result = Run.Program(Launcher.Path, [archive], environment: _sandbox.Env(null), workingDirectory: _sandbox.Root);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().Be($"xarexec: {archive}: MOUNT_ROOT \"{relative}\" from the header is not an absolute path\n");
        _sandbox.Mounts().Should().BeEmpty();
    }

    [Theory]
    [InlineData(XarLayout.Xarexec)]
    [InlineData(XarLayout.Self)]
    public void Thirty_two_simultaneous_first_launches_all_succeed_with_exactly_one_mount(XarLayout layout)
    {
        string archive = _sandbox.Archive(TargetKind.Shell, layout);

        RunResult[] results = Parallel(32, () => _sandbox.Launch(archive, ["read:data.txt"]));

        results.Should().OnlyContain(r => r.ExitCode == 0 && r.Stdout.EndsWith("\ndata from the image\n"), string.Join("\n", results));
        results.Count(r => r.Stdout.StartsWith("mode=mount new=1\n")).Should().Be(1, "exactly one launch mounted");
        _sandbox.Mounts().Should().ContainSingle();
        _sandbox.ServerProcesses().Should().ContainSingle();
    }

    [Fact]
    public void Without_squashfuse_ll_our_server_mounts_with_the_kernel_FUSE_alone()
    {
        string archive = _sandbox.Archive();
        string bin = Path.Combine(_sandbox.Root, "bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "cat"), "/bin/cat"); // the target's only need

        RunResult result = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: new Dictionary<string, string?>
        {
            ["XAR_MODE"] = "mount",
            ["PATH"] = bin,
        });

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be("mode=mount new=1\ndata from the image\n");
        _sandbox.Mounts().Should().ContainSingle().Which.FsType.Should().Be("fuse.xar");
        _sandbox.ServerProcesses().Should().ContainSingle();
    }

    [Fact]
    public void A_forced_mount_with_squashfuse_ll_chosen_but_missing_fails_with_one_line_and_leaves_nothing_mounted()
    {
        string archive = _sandbox.Archive();

        RunResult result = Run.Program(Launcher.Path, [archive], environment: _sandbox.Env(new Dictionary<string, string?>
        {
            ["XAR_MODE"] = "mount",
            ["PATH"] = _sandbox.Root,
            ["XAR_FUSE_SERVER"] = "squashfuse_ll",
        }));

        result.ExitCode.Should().Be((int)XarExitCode.Unavailable);
        result.Stderr.Should().Be($"xarexec: {archive}: squashfuse_ll is not on PATH (install squashfuse)\n");
        _sandbox.Mounts().Should().BeEmpty();
    }

    [Fact]
    public void A_failing_squashfuse_ll_is_reported_in_one_line_leaves_no_mount_directory_and_auto_mode_extracts()
    {
        string archive = _sandbox.Archive();
        string bin = Path.Combine(_sandbox.Root, "fakebin");
        Directory.CreateDirectory(bin);
        string fake = Path.Combine(bin, "squashfuse_ll");
        File.WriteAllText(fake, "#!/bin/sh\necho \"fuse: device not found, try 'modprobe fuse' first\" >&2\nexit 1\n");
        File.SetUnixFileMode(fake, (UnixFileMode)0x1ED);
        string path = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        string mountPath = _sandbox.Xarexec("-n", archive).Stdout.TrimEnd('\n');

        _sandbox.Environment["XAR_FUSE_SERVER"] = "squashfuse_ll";
        RunResult forced = Run.Program(Launcher.Path, [archive], environment: _sandbox.Env(new Dictionary<string, string?> { ["PATH"] = path, ["XAR_MODE"] = "mount" }));
        RunResult automatic = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: new Dictionary<string, string?> { ["PATH"] = path });

        forced.ExitCode.Should().Be((int)XarExitCode.Unavailable, forced.ToString());
        forced.Stderr.Should().Be($"xarexec: {archive}: cannot mount on {mountPath}: squashfuse_ll failed with exit status 1: fuse: device not found, try 'modprobe fuse' first\n");
        Directory.Exists(mountPath).Should().BeFalse("the directory made for the failed mount is removed");
        automatic.ExitCode.Should().Be(0, automatic.ToString());
        automatic.Stdout.Should().Be("mode=extract new=1\ndata from the image\n");
    }

    [Fact]
    public void A_per_user_directory_that_others_could_write_to_is_never_trusted()
    {
        string archive = _sandbox.Archive();
        string userDirectory = Path.Combine(_sandbox.MountRoot, "uid-0");
        Directory.CreateDirectory(userDirectory);
        File.SetUnixFileMode(userDirectory, (UnixFileMode)0x1FF); // 0777: anyone could have put a mount in it

        RunResult forced = Run.Program(Launcher.Path, [archive], environment: _sandbox.Env(new Dictionary<string, string?> { ["XAR_MODE"] = "mount" }));
        RunResult automatic = _sandbox.Launch(archive, ["read:data.txt"]);

        forced.ExitCode.Should().Be((int)XarExitCode.UnsafePermissions, forced.ToString());
        forced.Stderr.Should().Be($"xarexec: {archive}: {userDirectory} has mode 0777, not 0755\n");
        automatic.ExitCode.Should().Be(0, automatic.ToString());
        automatic.Stdout.Should().Be("mode=extract new=1\ndata from the image\n", "the launcher falls back to extraction");
        _sandbox.Mounts().Should().BeEmpty();
    }

    /// <summary>Starts <paramref name="count"/> launches at once (threads released together by a barrier).</summary>
    internal static RunResult[] Parallel(int count, Func<RunResult> launch)
    {
        _ = Launcher.Path; // Publish first, not inside the race.
        using var start = new Barrier(count);
        var threads = new Thread[count];
        var results = new RunResult[count];
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        for (int i = 0; i < count; i++)
        {
            int index = i;
            threads[i] = new Thread(() =>
            {
                start.SignalAndWait();
                try
                {
                    results[index] = launch();
                }
                catch (Exception e)
                {
                    failures.Enqueue(e); // An exception escaping a thread would abort the test run.
                }
            });
            threads[i].Start();
        }
        foreach (Thread thread in threads)
            thread.Join();
        if (!failures.IsEmpty)
            throw new AggregateException(failures);
        return results;
    }

    /// <summary>
    /// SIGSTOPs <paramref name="pid"/> and waits until every thread of it is stopped: kill returns
    /// once the signal is queued, and on a loaded machine a worker thread can still answer a request
    /// before it stops, which would let the next launch find the mount healthy.
    /// </summary>
    internal static void StopEveryThread(int pid)
    {
        Run.Checked("kill", ["-STOP", pid.ToString()]);
        WaitUntil(() => Directory.EnumerateDirectories($"/proc/{pid}/task").All(task => ThreadState(task) == 'T'), TimeSpan.FromSeconds(10))
            .Should().BeTrue("every thread of the server stops");
    }

    internal static char ThreadState(string task)
    {
        string stat = File.ReadAllText(Path.Combine(task, "stat"));
        return stat[stat.LastIndexOf(')') + 2];
    }

    internal static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
                return true;
            Thread.Sleep(100);
        }
        return condition();
    }

    private static bool CanList(string directory)
    {
        try
        {
            Directory.GetFileSystemEntries(directory);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
