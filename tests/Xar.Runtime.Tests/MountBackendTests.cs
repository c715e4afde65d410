using System.Diagnostics;
using Xar.Archive;
using Xar.Interop;

namespace Xar.Runtime.Tests;

/// <summary>
/// The order of the mount backends and the fallback from one that fails to the next; our server's
/// fresh mount (the launcher mounts, the daemon serves): what a daemon that cannot start, or dies
/// before it serves, leaves behind, and the mount lock it keeps until it serves.
/// </summary>
public sealed class MountBackendTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void Ours_comes_first_then_squashfuse_ll_and_XAR_FUSE_SERVER_leaves_only_the_one_it_names()
    {
        MountBackend.Candidates(new RuntimeSettings()).Select(b => b.Name).Should().Equal("xar", "squashfuse_ll");
        MountBackend.Candidates(new RuntimeSettings { FuseServer = "squashfuse_ll" }).Select(b => b.Name).Should().Equal("squashfuse_ll");
        MountBackend.Candidates(new RuntimeSettings { FuseServer = "xar" }).Select(b => b.Name).Should().Equal("xar");
    }

    [Fact]
    public void A_backend_that_fails_is_followed_by_the_next_and_when_all_fail_every_cause_is_given()
    {
        using XarArchive archive = XarArchive.Open(_sandbox.Archive());
        var failing = new ScriptedBackend("first", cause: "the first cannot");
        var working = new ScriptedBackend("second", cause: null);

        RunLadder.MountWithFirstWorking([failing, working], archive.Path, archive, "/nowhere", 0, new RuntimeSettings(), mountLock: -1).Should().Be(42);
        failing.Calls.Should().Be(1);
        working.Calls.Should().Be(1);

        var also = new ScriptedBackend("third", cause: "the third cannot either");
        FluentActions.Invoking(() => RunLadder.MountWithFirstWorking([failing, also], archive.Path, archive, "/nowhere", 0, new RuntimeSettings(), mountLock: -1))
            .Should().Throw<XarRuntimeException>().Which.Cause.Should().Be("the first cannot; the third cannot either");
    }

    private RuntimeSettings OurServer(string program, RunMode mode = RunMode.Mount) => new()
    {
        FuseServer = "xar",
        FuseServerProgram = program,
        Mode = mode,
        XdgCacheHome = _sandbox.Cache,
        Home = _sandbox.Home,
    };

    [Fact]
    public void A_server_that_cannot_be_executed_fails_the_mount_in_one_line_leaving_nothing_mounted_and_auto_mode_extracts()
    {
        string archivePath = _sandbox.Archive();
        using XarArchive archive = XarArchive.Open(archivePath);

        FluentActions.Invoking(() => RunLadder.Prepare(archive, archivePath, OurServer("/nonexistent/xarexec")))
            .Should().Throw<XarRuntimeException>().Which.Message.Should().Contain("cannot run /nonexistent/xarexec: No such file or directory").And.NotContain("\n");
        _sandbox.Mounts().Should().BeEmpty("the mount the launcher made is detached when its server cannot be started");

        using PreparedTree tree = RunLadder.Prepare(archive, archivePath, OurServer("/nonexistent/xarexec", RunMode.Auto));
        tree.Kind.Should().Be(TreeKind.Extraction);
    }

    [Fact]
    public void A_server_that_exits_without_serving_makes_requests_fail_instead_of_waiting_and_the_next_launch_replaces_the_mount()
    {
        string archivePath = _sandbox.Archive();
        using XarArchive archive = XarArchive.Open(archivePath);

        using (PreparedTree dead = RunLadder.Prepare(archive, archivePath, OurServer("/bin/true")))
        {
            // /bin/true closes the /dev/fuse descriptor it inherits: no copy of it is left anywhere.
            int error = 0;
            var stat = new Thread(() => error = LibC.Stat(dead.Directory + "/data.txt", followSymlinks: true, out _)) { IsBackground = true };
            stat.Start();
            stat.Join(TimeSpan.FromSeconds(60)).Should().BeTrue("a request to a mount whose server is gone fails; it does not wait");
            error.Should().BeOneOf(LibC.ENOTCONN, LibC.ECONNABORTED);
        }

        using PreparedTree served = RunLadder.Prepare(archive, archivePath, OurServer(Launcher.Path));
        served.Created.Should().BeTrue("the dead mount was detached and the image mounted again");
        File.ReadAllText(served.Directory + "/data.txt").Should().StartWith("data from the image");
    }

    [Fact]
    public void The_launcher_goes_on_before_our_server_serves_and_the_server_keeps_the_mount_lock_until_it_does()
    {
        string archivePath = _sandbox.Archive();
        string slowServer = Path.Combine(_sandbox.Root, "slow-server");
        File.WriteAllText(slowServer, $"#!/bin/bash\nsleep 2\nexec -a {FuseServerMode.ProgramName} {Launcher.Path} \"$@\"\n");
        File.SetUnixFileMode(slowServer, (UnixFileMode)0x1ED);
        using XarArchive archive = XarArchive.Open(archivePath);
        RuntimeSettings settings = OurServer(slowServer);
        string lockPath = MountLocation.Resolve(archive.Header, settings, archivePath).LockPath;

        using PreparedTree tree = RunLadder.Prepare(archive, archivePath, settings);
        int lockFd = LibC.Open(lockPath, LibC.O_RDWR | LibC.O_CLOEXEC, 0, out _);
        try
        {
            LibC.flock(lockFd, LibC.LOCK_EX | LibC.LOCK_NB).Should().NotBe(0, "the server, still starting, holds the mount lock");
            var clock = Stopwatch.StartNew();
            while (LibC.flock(lockFd, LibC.LOCK_EX | LibC.LOCK_NB) != 0)
            {
                clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "the server lets the lock go once it serves");
                Thread.Sleep(10);
            }
            FuseMount.Probe(tree.Directory, archive.Superblock, settings, archivePath, out int pin).Should().Be(MountState.Mounted,
                "a launch that gets the lock finds the mount serving");
            LibC.close(pin);
        }
        finally
        {
            LibC.close(lockFd);
        }
        File.ReadAllText(tree.Directory + "/data.txt").Should().StartWith("data from the image");
    }

    /// <summary>
    /// Our server serves the archive the launcher verified, through the descriptor handed to it: an
    /// archive renamed over the path after the verification, just before the daemon starts, changes
    /// nothing of what the mount serves (seen failing when the daemon opened the path).
    /// </summary>
    [Fact]
    public void Our_server_serves_the_verified_archive_when_another_is_renamed_over_its_path_before_the_server_starts()
    {
        string archivePath = _sandbox.Archive();
        string other = _sandbox.Archive(extraFiles: new Dictionary<string, string> { ["data.txt"] = "data from another image\n" });
        string renamingServer = Path.Combine(_sandbox.Root, "renaming-server");
        File.WriteAllText(renamingServer, $"#!/bin/bash\nmv -f '{other}' '{archivePath}' || exit 1\nexec -a {FuseServerMode.ProgramName} {Launcher.Path} \"$@\"\n");
        File.SetUnixFileMode(renamingServer, (UnixFileMode)0x1ED);
        using XarArchive archive = XarArchive.Open(archivePath);

        using PreparedTree tree = RunLadder.Prepare(archive, archivePath, OurServer(renamingServer));
        File.ReadAllText(tree.Directory + "/data.txt").Should().Be("data from the image\n");
        File.Exists(other).Should().BeFalse("the other archive was renamed over the path before the server started");
        using XarArchive renamed = XarArchive.Open(archivePath);
        renamed.Header.ImageSha256.Should().NotBe(archive.Header.ImageSha256);
    }

    private sealed class ScriptedBackend(string name, string? cause) : MountBackend
    {
        public int Calls { get; private set; }

        public override string Name => name;

        public override string? Unavailability(RuntimeSettings settings) => null;

        public override int Mount(XarArchive archive, string imagePath, string mountPath, int timeoutSeconds, RuntimeSettings settings, int mountLock)
        {
            Calls++;
            return cause is null ? 42 : throw new XarRuntimeException(XarExitCode.Unavailable, archive.Path, cause);
        }
    }
}
