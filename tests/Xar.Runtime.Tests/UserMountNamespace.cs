using System.Diagnostics;

namespace Xar.Runtime.Tests;

/// <summary>
/// Launches as a user who is not root (uid 65534) in a mount namespace of the test's own, where
/// /dev/fuse is open to everyone (the host's is root's only; a device node of the same number on a
/// tmpfs is bound over it) and, when asked, squashfuse_ll is hidden (/dev/null bound over it, so
/// it is no executable file). Mounts made there are seen in the namespace's mountinfo only.
/// Disposing ends the process holding the namespace; the FUSE servers started in it are the
/// sandbox's to stop.
/// </summary>
public sealed class UserMountNamespace : IDisposable
{
    public const int Uid = 65534;

    private readonly Process _holder;

    public UserMountNamespace(Sandbox sandbox, bool hideSquashfuse = false)
    {
        // Everything the user reaches must be open to it.
        File.SetUnixFileMode(sandbox.Root, (UnixFileMode)0x1ED);
        _holder = Process.Start(new ProcessStartInfo("unshare", ["--mount", "--propagation", "private", "sleep", "infinity"]))!;
        string ours = File.ReadAllText("/proc/self/mountinfo");
        MountRungTests.WaitUntil(() => File.ReadAllText(MountInfo) != ours || _holder.HasExited, TimeSpan.FromSeconds(10))
            .Should().BeTrue("unshare makes the namespace at once");
        string devices = Path.Combine(sandbox.Root, "dev");
        Directory.CreateDirectory(devices);
        string setup = $"mount -t tmpfs -o mode=0755 xar-test-dev '{devices}' && mknod -m 0666 '{devices}/fuse' c 10 229 && mount --bind '{devices}/fuse' /dev/fuse";
        if (hideSquashfuse)
            setup += " && mount --bind /dev/null \"$(command -v squashfuse_ll)\"";
        Enter("sh", "-c", setup);
    }

    /// <summary>Runs <paramref name="command"/> as root in the namespace; returns its output, or throws when it fails.</summary>
    public string Enter(params string[] command) => Run.Checked("nsenter", [$"--mount=/proc/{_holder.Id}/ns/mnt", .. command]);

    /// <summary>Runs <paramref name="command"/> in the namespace as <paramref name="uid"/> (its own group, no others); how it ended.</summary>
    public RunResult EnterAs(int uid, params string[] command) =>
        Run.Program("nsenter", [$"--mount=/proc/{_holder.Id}/ns/mnt", "setpriv", $"--reuid={uid}", $"--regid={uid}", "--clear-groups", .. command]);

    /// <summary>Gives the namespace an /etc/fuse.conf of <paramref name="text"/> (a file of the sandbox bound over the host's), which fusermount3 and the launcher read there.</summary>
    public void UseFuseConf(Sandbox sandbox, string text)
    {
        string conf = Path.Combine(sandbox.Root, "fuse.conf");
        File.WriteAllText(conf, text);
        Enter("mount", "--bind", conf, "/etc/fuse.conf");
    }

    private string MountInfo => $"/proc/{_holder.Id}/mountinfo";

    /// <summary>
    /// Runs the self archive <paramref name="archive"/> in the namespace as the user (or, with
    /// <paramref name="asRoot"/>, as root), with a clean environment plus <paramref name="environment"/>.
    /// </summary>
    public RunResult Launch(string archive, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan? timeout = null,
        bool asRoot = false)
    {
        var argv = new List<string> { $"--mount=/proc/{_holder.Id}/ns/mnt" };
        if (!asRoot)
            argv.AddRange(["setpriv", $"--reuid={Uid}", $"--regid={Uid}", "--clear-groups"]);
        argv.AddRange(["env", "-i", "PATH=" + Run.CleanPath, "HOME=/nonexistent"]);
        argv.AddRange(environment.Select(variable => $"{variable.Key}={variable.Value}"));
        argv.Add(archive);
        argv.AddRange(arguments);
        return Run.Program("nsenter", argv, timeout: timeout);
    }

    /// <summary>The mount points in the namespace below <paramref name="directory"/>, with their file system type.</summary>
    public List<(string MountPoint, string FsType)> MountsUnder(string directory) => Mounts.Under(directory, MountInfo);

    public void Dispose()
    {
        _holder.Kill();
        _holder.WaitForExit();
        _holder.Dispose();
    }
}
