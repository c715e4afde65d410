using Xar.Archive;
using Xar.SquashFs.Format;

namespace Xar.Runtime.Tests;

/// <summary>The order of the mount backends and the fallback from one that fails to the next.</summary>
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

    private sealed class ScriptedBackend(string name, string? cause) : MountBackend
    {
        public int Calls { get; private set; }

        public override string Name => name;

        public override string? Unavailability(RuntimeSettings settings) => null;

        public override int Mount(string imagePath, long imageOffset, string mountPath, Superblock superblock, int timeoutSeconds,
            RuntimeSettings settings, string archivePath, int mountLock)
        {
            Calls++;
            return cause is null ? 42 : throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, cause);
        }
    }
}
