using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// XAR_REQUIRES_GLIBC (refused before anything is mounted, in one line naming both versions) and
/// XAR_LIBRARY_PATH (the image's directories in front of LD_LIBRARY_PATH, the host's value kept
/// in XAR_HOST_LD_LIBRARY_PATH), docs/launcher.md.
/// </summary>
public sealed class HostGlibcTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    /// <summary>The host's glibc as getconf reports it ("glibc 2.36" → "2.36").</summary>
    private static string HostGlibc() => Run.Checked("getconf", ["GNU_LIBC_VERSION"]).Trim().Split(' ')[1];

    [Theory]
    [InlineData(XarLayout.Xarexec)]
    [InlineData(XarLayout.Self)]
    public void A_glibc_newer_than_the_hosts_is_refused_before_mounting(XarLayout layout)
    {
        string archive = _sandbox.Archive(layout: layout, extraHeader: new Dictionary<string, string> { [XarHeaderKeys.RequiresGlibc] = "9.99" });

        RunResult result = _sandbox.Launch(archive, ["read:data.txt"]);

        result.ExitCode.Should().Be(68, result.ToString());
        result.Stdout.Should().BeEmpty();
        result.Stderr.Should().Be($"xarexec: {archive}: needs glibc 9.99 or newer (XAR_REQUIRES_GLIBC), this host has glibc {HostGlibc()}\n");
        _sandbox.Mounts().Should().BeEmpty();
        Directory.Exists(Path.Combine(_sandbox.Cache, "xar")).Should().BeFalse("nothing is extracted either");
    }

    [Fact]
    public void The_hosts_own_glibc_version_is_enough()
    {
        string archive = _sandbox.Archive(extraHeader: new Dictionary<string, string> { [XarHeaderKeys.RequiresGlibc] = HostGlibc() });

        RunResult result = _sandbox.Launch(archive, ["read:data.txt"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().EndWith("data from the image\n");
    }

    [Theory]
    [InlineData(XarHeaderKeys.RequiresGlibc, "two.34")]
    [InlineData(XarHeaderKeys.LibraryPath, "__xar__/lib:../../usr/lib")]
    [InlineData(XarHeaderKeys.LibraryPath, "/usr/lib")]
    public void A_malformed_key_is_a_bad_archive(string key, string value)
    {
        string archive = _sandbox.Archive(extraHeader: new Dictionary<string, string> { [key] = value });

        RunResult result = _sandbox.Launch(archive, ["read:data.txt"]);

        result.ExitCode.Should().Be(65, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: {archive}: {key} \"{value}\" is not").And.EndWith("\n");
        result.Stderr.TrimEnd('\n').Should().NotContain("\n");
    }

    [Fact]
    public void The_image_library_directories_go_in_front_of_the_hosts_LD_LIBRARY_PATH()
    {
        string archive = _sandbox.Archive(extraHeader: new Dictionary<string, string> { [XarHeaderKeys.LibraryPath] = "lib:__xar__/lib" });
        string[] arguments = ["env:XAR_MOUNT", "env:LD_LIBRARY_PATH", "env:XAR_HOST_LD_LIBRARY_PATH"];

        RunResult withHost = _sandbox.Launch(archive, arguments, extraEnvironment: new Dictionary<string, string?> { ["LD_LIBRARY_PATH"] = "/opt/host/lib" });
        RunResult without = _sandbox.Launch(archive, arguments, extraEnvironment: new Dictionary<string, string?> { ["LD_LIBRARY_PATH"] = null, ["XAR_HOST_LD_LIBRARY_PATH"] = "/stale" });

        withHost.ExitCode.Should().Be(0, withHost.ToString());
        string mount = withHost.Stdout.Split('\n')[1]["XAR_MOUNT=".Length..];
        withHost.Stdout.Should().EndWith($"LD_LIBRARY_PATH={mount}/lib:{mount}/__xar__/lib:/opt/host/lib\nXAR_HOST_LD_LIBRARY_PATH=/opt/host/lib\n");
        without.ExitCode.Should().Be(0, without.ToString());
        without.Stdout.Should().EndWith($"LD_LIBRARY_PATH={mount}/lib:{mount}/__xar__/lib\nXAR_HOST_LD_LIBRARY_PATH=\n");
    }
}
