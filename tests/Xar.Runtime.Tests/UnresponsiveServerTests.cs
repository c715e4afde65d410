using System.Diagnostics;
using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// A user who is not root (no fusectl to abort a connection with) launches while the server of the
/// mount is stopped, or has read the launcher's probe and never answers: the launch finishes, after
/// one probe, and mounts anew (docs/launcher.md §2.1, "Probing").
/// </summary>
public sealed class UnresponsiveServerTests : IDisposable
{
    private const string UnresponsiveNote = "did not answer within";

    private readonly Sandbox _sandbox = new();
    private readonly UserMountNamespace _user;

    public UnresponsiveServerTests() => _user = new UserMountNamespace(_sandbox);

    public void Dispose()
    {
        _sandbox.Dispose(); // stops the servers first: the namespace lives as long as they do
        _user.Dispose();
    }

    [Theory]
    [MemberData(nameof(MountRungTests.Servers), MemberType = typeof(MountRungTests))]
    public void A_users_launch_meets_a_stopped_server_with_one_probe_and_mounts_anew(string server)
    {
        (string archive, string mountPath, int stopped) = MountedWithServer(server);
        MountRungTests.StopEveryThread(stopped);

        RelaunchFinishesAndMountsAnew(server, archive, mountPath, stopped);
    }

    [Theory]
    [MemberData(nameof(MountRungTests.Servers), MemberType = typeof(MountRungTests))]
    public void A_users_launch_meets_a_server_that_read_the_probe_and_never_answers_and_does_not_hang(string server)
    {
        (string archive, string mountPath, int hung) = MountedWithServer(server);
        // strace holds every reply the server writes for ten minutes: the probe's request is read
        // (in the server's hands, where not even SIGKILL ends the wait for it) and never answered.
        using Process holder = Process.Start(new ProcessStartInfo("strace",
            ["-f", "-qq", "-o", "/dev/null", "-e", "trace=write,writev", "-e", "inject=write,writev:delay_enter=600000000", "-p", hung.ToString()]))!;
        try
        {
            MountRungTests.WaitUntil(() => Directory.EnumerateDirectories($"/proc/{hung}/task").All(IsTraced), TimeSpan.FromSeconds(10))
                .Should().BeTrue("strace attaches to every thread of the server");

            RelaunchFinishesAndMountsAnew(server, archive, mountPath, hung);
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }
    }

    [Fact]
    public void Auto_mode_mounts_with_squashfuse_ll_when_our_server_cannot_and_says_why_only_with_XAR_DEBUG()
    {
        string[] archives = [_sandbox.Archive(TargetKind.Shell, XarLayout.Self), _sandbox.Archive(TargetKind.Shell, XarLayout.Self)];
        foreach (string archive in archives)
            File.SetUnixFileMode(archive, (UnixFileMode)0x1ED);
        // Our server needs fusermount3 on PATH to mount as a user; squashfuse_ll's libfuse finds it by its own path.
        string bin = Path.Combine(_sandbox.Root, "bin");
        Directory.CreateDirectory(bin);
        foreach (string program in (string[])["squashfuse_ll", "cat"])
            File.CreateSymbolicLink(Path.Combine(bin, program), Run.Checked("sh", ["-c", $"command -v {program}"]).Trim());
        var environment = new Dictionary<string, string> { ["PATH"] = bin, ["XAR_MODE"] = "mount" };

        RunResult quiet = _user.Launch(archives[0], ["read:data.txt"], environment);
        RunResult noted = _user.Launch(archives[1], [], new Dictionary<string, string>(environment) { ["XAR_DEBUG"] = "1" });

        quiet.ExitCode.Should().Be(0, quiet.ToString());
        quiet.Stdout.Should().Be("mode=mount new=1\ndata from the image\n");
        quiet.Stderr.Should().BeEmpty("without XAR_DEBUG the fallback is silent");
        noted.Stdout.Should().Be("mode=mount new=1\n", noted.ToString());
        noted.Stderr.Should().Be($"xarexec: {archives[1]}: not mounting with xar: fusermount3 is not on PATH (install fuse3)\n");
        _user.MountsUnder(_sandbox.MountRoot).Should().HaveCount(2).And.OnlyContain(mount => mount.FsType == "fuse.squashfuse_ll");
    }

    private (string Archive, string MountPath, int Server) MountedWithServer(string server)
    {
        string archive = _sandbox.Archive(TargetKind.Shell, XarLayout.Self);
        File.SetUnixFileMode(archive, (UnixFileMode)0x1ED);
        RunResult first = _user.Launch(archive, [], Environment(server));
        first.ExitCode.Should().Be(0, first.ToString());
        first.Stdout.Should().Be("mode=mount new=1\n");
        string mountPath = _user.MountsUnder(_sandbox.MountRoot).Should().ContainSingle().Which.MountPoint;
        mountPath.Should().StartWith(Path.Combine(_sandbox.MountRoot, $"uid-{UserMountNamespace.Uid}") + "/");
        return (archive, mountPath, _sandbox.ServerProcesses(mountPath).Should().ContainSingle().Which);
    }

    private void RelaunchFinishesAndMountsAnew(string server, string archive, string mountPath, int unresponsive)
    {
        // Before the probe ran in a child, the first of these hung until the deadline killed it
        // (the stuck probe thread held up execve), and the second probed twice.
        RunResult relaunched = _user.Launch(archive, ["read:data.txt"], Environment(server), timeout: TimeSpan.FromSeconds(60));

        relaunched.ExitCode.Should().Be(0, relaunched.ToString());
        relaunched.Stdout.Should().Be("mode=mount new=1\ndata from the image\n");
        relaunched.Stderr.Split('\n').Count(line => line.Contains(UnresponsiveNote)).Should().Be(1, "one probe waits for the server, not two: " + relaunched.Stderr);
        relaunched.Stderr.Should().Contain($"detaching the unresponsive mount on {mountPath}");
        _user.MountsUnder(_sandbox.MountRoot).Should().ContainSingle("the unresponsive mount is detached");
        _sandbox.ServerProcesses(mountPath).Should().HaveCount(2).And.Contain(unresponsive, "it is detached, not killed");
    }

    private static Dictionary<string, string> Environment(string server) => new()
    {
        ["XAR_MODE"] = "mount",
        ["XAR_FUSE_SERVER"] = server,
        ["XAR_DEBUG"] = "1",
    };

    /// <summary>The state letter of /proc/PID/task/TID/stat (after the command's closing parenthesis).</summary>
    private static bool IsTraced(string task) =>
        File.ReadLines(Path.Combine(task, "status")).Any(line => line.StartsWith("TracerPid:", StringComparison.Ordinal) && line.Split('\t')[1] != "0");
}
