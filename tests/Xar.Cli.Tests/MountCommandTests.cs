using Xar.Archive;
using Xar.Cli.Tests.Support;
using Xar.Runtime;
using Xar.SquashFs.Writing;

namespace Xar.Cli.Tests;

/// <summary>`xar mount` and `xar unmount` with real mounts of our server and squashfuse_ll; failures in one line.</summary>
public sealed class MountCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("mount-command");
    private readonly string _mountRoot;
    private readonly string _archive;

    public MountCommandTests()
    {
        _mountRoot = _temp.Combine("mnt");
        Directory.CreateDirectory(_mountRoot);
        File.SetUnixFileMode(_mountRoot, (UnixFileMode)0x3FF); // 01777, as a mount root must be
        string tree = _temp.Combine("tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "sub/data.txt"), "data from the image\n");
        File.WriteAllText(Path.Combine(tree, "nonce"), Guid.NewGuid().ToString()); // its own UUID, so its own mount
        var writer = new SquashFsWriter(new SquashFsWriterOptions { FixedTime = 0 });
        writer.AddDirectory(tree);
        _archive = _temp.Combine("app.xar");
        XarArchiveWriter.Write(_archive, new XarWriteOptions
        {
            Header = new XarHeaderFields { Version = 1, MountRoot = _mountRoot },
            Layout = XarLayout.Xarexec,
        }, image => writer.WriteTo(image));
    }

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(null, "fuse.xar")]
    [InlineData("squashfuse_ll", "fuse.squashfuse_ll")]
    public void Mount_without_a_directory_mounts_where_the_launcher_does_and_unmount_removes_it(string? server, string fileSystemType)
    {
        _ = Launcher.Path; // our server is the launcher (the published one, found from the source tree), current
        string expected;
        using (var archive = XarArchive.Open(_archive))
            expected = RunLadder.MountPath(archive, RuntimeSettings.FromEnvironment(_archive));

        RunResult mounted = XarTool.Run(server is null ? ["mount", _archive] : ["mount", "--fuse-server", server, _archive]);

        mounted.Should().Be(new RunResult(0, expected + "\n", ""));
        Mounts.Under(_mountRoot).Should().ContainSingle().Which.Should().Be((expected, fileSystemType));
        File.ReadAllText(Path.Combine(expected, "sub/data.txt")).Should().Be("data from the image\n");
        XarTool.Run("mount", _archive).Should().Be(new RunResult(0, expected + "\n", ""), "a second mount reuses the first");
        Mounts.Under(_mountRoot).Should().ContainSingle();

        RunResult unmounted = XarTool.Run("unmount", _archive);

        unmounted.Should().Be(new RunResult(0, "", ""));
        Mounts.Under(_temp.Path).Should().BeEmpty();
        Directory.Exists(expected).Should().BeFalse("the mount directory the launcher's naming made is removed");
    }

    [Fact]
    public void Mount_on_an_empty_directory_serves_the_image_there_until_unmount()
    {
        _ = Launcher.Path;
        string directory = _temp.Combine("view");
        Directory.CreateDirectory(directory);

        RunResult mounted = XarTool.Run("mount", _archive, directory);

        mounted.Should().Be(new RunResult(0, directory + "\n", ""));
        Mounts.Under(_temp.Path).Should().ContainSingle().Which.Should().Be((directory, "fuse.xar"));
        File.ReadAllText(Path.Combine(directory, "sub/data.txt")).Should().Be("data from the image\n");

        RunResult unmounted = XarTool.Run("unmount", directory + "/");

        unmounted.Should().Be(new RunResult(0, "", ""));
        Mounts.Under(_temp.Path).Should().BeEmpty();
        Directory.Exists(directory).Should().BeTrue("the caller's own directory is left");
    }

    [Fact]
    public void Mount_refuses_a_directory_that_is_not_empty_or_not_a_directory()
    {
        string full = _temp.Combine("full");
        Directory.CreateDirectory(full);
        File.WriteAllText(Path.Combine(full, "mine.txt"), "mine\n");
        string file = _temp.Write("plain.txt", "plain\n");

        XarTool.Run("mount", _archive, full).Should().Be(new RunResult(1, "", $"xar: {_archive}: cannot mount on {full}: the directory is not empty\n"));
        XarTool.Run("mount", _archive, file).Should().Be(new RunResult(1, "", $"xar: {_archive}: cannot mount on {file}: not a directory\n"));
        Mounts.Under(_temp.Path).Should().BeEmpty();
    }

    [Fact]
    public void Unmount_refuses_what_is_not_a_squashfuse_mount()
    {
        string directory = _temp.Combine("empty");
        Directory.CreateDirectory(directory);

        XarTool.Run("unmount", directory).Should().Be(new RunResult(1, "", $"xar: {directory}: nothing is mounted there\n"));
        XarTool.Run("unmount", "/proc").Should().Be(new RunResult(1, "", "xar: /proc: a proc mount, not one of xar's or squashfuse's: not unmounting it\n"));
    }

    [Fact]
    public void A_path_of_40_KB_is_shortened_in_the_middle_of_the_error_line()
    {
        string deep = _temp.Path + string.Concat(Enumerable.Repeat("/deep", 8000)) + "/missing.xar";

        RunResult result = XarTool.Run("info", deep);

        result.ExitCode.Should().Be(1);
        result.Stderr.Should().StartWith("xar: " + deep[..99] + "…").And.EndWith("/deep/deep/missing.xar: no such file\n");
        result.Stderr.Length.Should().BeLessThan(300);
    }
}
