using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// A user's mount by our server and the users who may use it: the user, and root when
/// /etc/fuse.conf has the line <c>user_allow_other</c> (the original runtime's rule for
/// squashfuse_ll's <c>allow_root</c>); never anyone else. Run in a mount namespace of the test's
/// own, with a fuse.conf of its own bound over the host's, as uid 65534 (the owner) and 65533.
/// </summary>
public sealed class AllowRootTests : IDisposable
{
    private const int OtherUid = 65533;
    private readonly Sandbox _sandbox = new();
    private readonly UserMountNamespace _host;
    private readonly string _archive;

    public AllowRootTests()
    {
        _host = new UserMountNamespace(_sandbox, hideSquashfuse: true);
        _archive = _sandbox.Archive(TargetKind.Shell, XarLayout.Self);
        File.SetUnixFileMode(_archive, (UnixFileMode)0x1ED);
    }

    public void Dispose()
    {
        _sandbox.Dispose();
        _host.Dispose();
    }

    /// <summary>The user's launch mounts and reads data.txt (so its entry is in the kernel's caches); the mount path.</summary>
    private string MountAsUser()
    {
        RunResult user = _host.Launch(_archive, ["read:data.txt"], new Dictionary<string, string>());
        user.Stdout.Should().Be("mode=mount new=1\ndata from the image\n", user.ToString());
        return _host.MountsUnder(_sandbox.MountRoot).Should().ContainSingle().Which.MountPoint;
    }

    [Fact]
    public void Root_reads_a_users_mount_when_fuse_conf_has_user_allow_other_and_no_other_user_does()
    {
        _host.UseFuseConf(_sandbox, "# users may ask for allow_other\nuser_allow_other\n");
        string mount = MountAsUser();

        RunResult root = _host.EnterAs(0, "cat", Path.Combine(mount, "data.txt"));
        root.ExitCode.Should().Be(0, root.ToString());
        root.Stdout.Should().Be("data from the image\n");

        // The file's entry and attributes are in the kernel's caches (the user read it): only the OPEN reaches the server.
        RunResult other = _host.EnterAs(OtherUid, "cat", Path.Combine(mount, "data.txt"));
        other.ExitCode.Should().NotBe(0, other.ToString());
        other.Stderr.Should().Contain("Permission denied");
        RunResult listing = _host.EnterAs(OtherUid, "ls", mount);
        listing.ExitCode.Should().NotBe(0, listing.ToString());
        listing.Stderr.Should().Contain("Permission denied");
        RunResult unseen = _host.EnterAs(OtherUid, "cat", Path.Combine(mount, "bin", "app"));
        unseen.ExitCode.Should().NotBe(0, unseen.ToString());
    }

    [Fact]
    public void Root_cannot_read_a_users_mount_without_the_line()
    {
        _host.UseFuseConf(_sandbox, "#user_allow_other\n");
        string mount = MountAsUser();

        RunResult root = _host.EnterAs(0, "cat", Path.Combine(mount, "data.txt"));
        root.ExitCode.Should().NotBe(0, root.ToString());
        root.Stderr.Should().Contain("Permission denied");
    }
}
