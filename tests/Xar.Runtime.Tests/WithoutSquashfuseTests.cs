using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// The mount rung's key cases on a host without squashfuse_ll (hidden in a mount namespace of the
/// test's own), for a user who is not root: everything goes through our server, in the default
/// (auto) mode.
/// </summary>
public sealed class WithoutSquashfuseTests : IDisposable
{
    private readonly Sandbox _sandbox = new();
    private readonly UserMountNamespace _host;
    private readonly string _archive;

    public WithoutSquashfuseTests()
    {
        _host = new UserMountNamespace(_sandbox, hideSquashfuse: true);
        _archive = _sandbox.Archive(TargetKind.Shell, XarLayout.Self);
        File.SetUnixFileMode(_archive, (UnixFileMode)0x1ED);
    }

    public void Dispose()
    {
        _sandbox.Dispose(); // stops the servers first: the namespace lives as long as they do
        _host.Dispose();
    }

    private static readonly Dictionary<string, string> Default = [];

    [Fact]
    public void A_launch_mounts_with_our_server_and_the_next_launch_reuses_the_mount()
    {
        RunResult first = _host.Launch(_archive, ["read:data.txt"], Default);
        RunResult second = _host.Launch(_archive, ["read:data.txt"], Default);

        first.ExitCode.Should().Be(0, first.ToString());
        first.Stdout.Should().Be("mode=mount new=1\ndata from the image\n", "FUSE works here, so the default mode mounts: " + first.Stderr);
        second.Stdout.Should().Be("mode=mount new=0\ndata from the image\n");
        _host.MountsUnder(_sandbox.MountRoot).Should().ContainSingle().Which.FsType.Should().Be("fuse.xar");
        _sandbox.ServerProcesses().Should().ContainSingle();
    }

    [Fact]
    public void The_idle_timeout_unmounts_once_the_target_is_gone()
    {
        RunResult running = _host.Launch(_archive, ["sleep:3", "read:data.txt"], new Dictionary<string, string> { ["XAR_MOUNT_TIMEOUT"] = "1" });

        running.ExitCode.Should().Be(0, running.ToString());
        running.Stdout.Should().Be("mode=mount new=1\ndata from the image\n", "the mount outlives an idle timeout of 1 s while the target runs");
        MountRungTests.WaitUntil(() => _host.MountsUnder(_sandbox.MountRoot).Count == 0, TimeSpan.FromSeconds(15)).Should().BeTrue();
        MountRungTests.WaitUntil(() => _sandbox.ServerProcesses().Count == 0, TimeSpan.FromSeconds(15)).Should().BeTrue("the server exits with its mount");
    }

    [Theory]
    [InlineData("KILL")]
    [InlineData("STOP")]
    public void A_killed_or_stopped_server_is_detached_and_replaced_by_the_next_launch(string signal)
    {
        _host.Launch(_archive, [], Default).Stdout.Should().Be("mode=mount new=1\n");
        string mountPath = _host.MountsUnder(_sandbox.MountRoot).Single().MountPoint;
        int server = _sandbox.ServerProcesses(mountPath).Single();
        Run.Checked("kill", [$"-{signal}", server.ToString()]);

        RunResult relaunched = _host.Launch(_archive, ["read:data.txt"], Default, timeout: TimeSpan.FromSeconds(60));

        relaunched.ExitCode.Should().Be(0, relaunched.ToString());
        relaunched.Stdout.Should().Be("mode=mount new=1\ndata from the image\n");
        _host.MountsUnder(_sandbox.MountRoot).Should().ContainSingle().Which.FsType.Should().Be("fuse.xar");
    }

    [Fact]
    public async Task A_lazy_unmount_while_the_target_runs_lets_it_finish_and_the_server_exit_after_it()
    {
        Task<RunResult> running = Task.Run(() => _host.Launch(_archive, ["sleep:3", "env:XAR_RUN_MODE"], Default));
        MountRungTests.WaitUntil(() => _host.MountsUnder(_sandbox.MountRoot).Count == 1, TimeSpan.FromSeconds(20)).Should().BeTrue("the launch mounts");
        string mountPath = _host.MountsUnder(_sandbox.MountRoot).Single().MountPoint;
        MountRungTests.WaitUntil(() => TargetSleeps(mountPath), TimeSpan.FromSeconds(20)).Should().BeTrue("the target runs from the mount");

        _host.Enter("umount", "-l", mountPath);

        _host.MountsUnder(_sandbox.MountRoot).Should().BeEmpty();
        RunResult finished = await running;
        finished.ExitCode.Should().Be(0, finished.ToString());
        finished.Stdout.Should().Be("mode=mount new=1\nXAR_RUN_MODE=mount\n", "the running script (its file on the detached mount) goes on");
        MountRungTests.WaitUntil(() => _sandbox.ServerProcesses(mountPath).Count == 0, TimeSpan.FromSeconds(15))
            .Should().BeTrue("the server ends once nothing uses the detached mount");
    }

    /// <summary>Whether a `sleep` runs whose parent is the target script on <paramref name="mountPath"/>.</summary>
    private static bool TargetSleeps(string mountPath)
    {
        foreach (string process in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(process, "cmdline")).StartsWith("sleep\0", StringComparison.Ordinal))
                    continue;
                string stat = File.ReadAllText(Path.Combine(process, "stat"));
                string parent = stat[(stat.LastIndexOf(')') + 4)..].Split(' ')[0];
                if (File.ReadAllText($"/proc/{parent}/cmdline").Contains(mountPath + "/bin/app", StringComparison.Ordinal))
                    return true;
            }
            catch (IOException)
            {
                // It exited meanwhile.
            }
        }
        return false;
    }

    [Fact]
    public void Root_and_a_user_each_get_a_mount_of_their_own()
    {
        RunResult user = _host.Launch(_archive, ["env:XAR_MOUNT"], Default);
        RunResult root = _host.Launch(_archive, ["env:XAR_MOUNT"], Default, asRoot: true);
        RunResult userAgain = _host.Launch(_archive, ["read:data.txt"], Default);

        user.Stdout.Should().StartWith("mode=mount new=1\nXAR_MOUNT=" + Path.Combine(_sandbox.MountRoot, $"uid-{UserMountNamespace.Uid}") + "/", user.ToString());
        root.Stdout.Should().StartWith("mode=mount new=1\nXAR_MOUNT=" + Path.Combine(_sandbox.MountRoot, "uid-0") + "/", root.ToString());
        userAgain.Stdout.Should().Be("mode=mount new=0\ndata from the image\n");
        _host.MountsUnder(_sandbox.MountRoot).Should().HaveCount(2).And.OnlyContain(mount => mount.FsType == "fuse.xar");
    }
}
