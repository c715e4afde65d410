using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// XAREXEC_TARGET is resolved inside the image: symlinks within it work, one that leaves it
/// (absolute, or climbing above the root) is refused instead of running a host program.
/// </summary>
public sealed class TargetResolutionTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    /// <summary>Arguments that make /bin/sh, if it were run as the target, say so.</summary>
    private static readonly string[] ShellProbe = ["-c", "echo escaped to the host"];

    public static TheoryData<XarLayout, string> LayoutsAndModes() => new()
    {
        { XarLayout.Xarexec, "mount" },
        { XarLayout.Xarexec, "extract" },
        { XarLayout.Self, "mount" },
        { XarLayout.Self, "extract" },
    };

    [Theory]
    [MemberData(nameof(LayoutsAndModes))]
    public void A_target_symlink_to_a_host_program_is_refused(XarLayout layout, string mode)
    {
        string archive = _sandbox.Archive(TargetKind.Shell, layout, xarexecTarget: "run", symlinks: new Dictionary<string, string> { ["run"] = "/bin/sh" });

        RunResult result = _sandbox.Launch(archive, ShellProbe, extraEnvironment: new Dictionary<string, string?> { ["XAR_MODE"] = mode });

        result.Stdout.Should().NotContain("escaped");
        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().Be(
            $"xarexec: {archive}: XAREXEC_TARGET \"run\" does not resolve to a file in the image: /run is a symlink to /bin/sh, outside the image\n");
    }

    [Theory]
    [InlineData("bin/run", "bin/run", "../../../../../../../../../../../../../../../../bin/sh", "a symlink on its way climbs above the image's root")]
    [InlineData("host/sh", "host", "/bin", "/host is a symlink to /bin, outside the image")]
    [InlineData("loop", "loop", "loop", "more than 40 symlinks on its way (a loop)")]
    public void A_target_whose_symlinks_leave_the_image_or_loop_is_refused(string target, string link, string linkTarget, string why)
    {
        string archive = _sandbox.Archive(xarexecTarget: target, symlinks: new Dictionary<string, string> { [link] = linkTarget });

        RunResult result = _sandbox.Launch(archive, ShellProbe);

        result.Stdout.Should().NotContain("escaped");
        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().Be($"xarexec: {archive}: XAREXEC_TARGET \"{target}\" does not resolve to a file in the image: {why}\n");
    }

    [Fact]
    public void A_target_that_is_a_directory_is_refused()
    {
        string archive = _sandbox.Archive(xarexecTarget: "bin");

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().Be($"xarexec: {archive}: XAREXEC_TARGET \"bin\" does not resolve to a file in the image: /bin is not a regular file\n");
    }

    [Theory]
    [MemberData(nameof(LayoutsAndModes))]
    public void Symlinks_inside_the_image_are_followed_there(XarLayout layout, string mode)
    {
        // current -> bin (a directory), bin/run -> app: the target is reached through both.
        string archive = _sandbox.Archive(TargetKind.Elf, layout, xarexecTarget: "current/run",
            symlinks: new Dictionary<string, string> { ["current"] = "bin", ["bin/run"] = "app" });

        RunResult result = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: new Dictionary<string, string?> { ["XAR_MODE"] = mode });

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be($"mode={mode} new=1\ndata from the image\n");
    }

    [Theory]
    [InlineData("current/run", "bin/app")]
    [InlineData("bin/data", "data.txt")]
    [InlineData("./current/../bin/./run", "bin/app")]
    public void The_image_reader_resolves_symlinks_within_the_image(string target, string resolved)
    {
        // Launches take the kernel's answer when it has one (openat2); the reader decides when
        // it has none, as on a kernel without openat2.
        string archive = _sandbox.Archive(TargetKind.Elf,
            symlinks: new Dictionary<string, string> { ["current"] = "bin", ["bin/run"] = "app", ["bin/data"] = "../data.txt" });
        using XarArchive opened = XarArchive.Open(archive);

        ImageTarget.ResolveInImage(opened, target).Should().Be(resolved);
    }

    [Fact]
    public void A_dangling_target_symlink_is_reported_as_not_found()
    {
        string archive = _sandbox.Archive(xarexecTarget: "run", symlinks: new Dictionary<string, string> { ["run"] = "bin/missing" });

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.TargetNotFound, result.ToString());
        result.Stderr.Should().Be($"xarexec: {archive}: XAREXEC_TARGET \"run\" is not in the image (no /bin/missing)\n");
    }
}
