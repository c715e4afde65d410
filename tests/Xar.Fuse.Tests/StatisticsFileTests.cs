namespace Xar.Fuse.Tests;

/// <summary>
/// XAR_FUSE_STATISTICS: the daemon, often root, appends its request counts to a file the caller
/// names when it ends; a symlink planted at that name (say in /tmp) is not followed.
/// </summary>
public class StatisticsFileTests
{
    [Fact]
    public void The_counts_are_appended_when_the_server_ends()
    {
        using var scratch = new TempDirectory("statistics");
        string statistics = scratch.Combine("statistics.txt");
        File.WriteAllText(statistics, "earlier\n");

        ServeOneRequest(scratch, statistics);

        string text = File.ReadAllText(statistics);
        text.Should().StartWith("earlier\n# pid ", "the file is appended to").And.Contain(", end\n").And.Contain("GETATTR ");
    }

    [Fact]
    public void A_symlink_at_the_statistics_path_is_not_followed()
    {
        using var scratch = new TempDirectory("statistics");
        string victim = scratch.Combine("victim");
        File.WriteAllText(victim, "kept\n");
        string statistics = scratch.Combine("statistics.txt");
        File.CreateSymbolicLink(statistics, victim);

        ServeOneRequest(scratch, statistics);

        File.ReadAllText(victim).Should().Be("kept\n");
    }

    /// <summary>Serves the rich image until a stat of its root has been answered, then unmounts.</summary>
    private static void ServeOneRequest(TempDirectory scratch, string statistics)
    {
        string mountPoint = scratch.Combine("mnt");
        Directory.CreateDirectory(mountPoint);
        Exception? unmounting = null;
        var options = new FuseServerOptions { StatisticsPath = statistics };
        string image = MountedImageTests.Image("ours");
        int device = FuseMounter.Mount(mountPoint, image, allowRoot: false, fusermount: null);
        using var imageFile = File.OpenHandle(image);
        FuseServer.Serve(device, imageFile, 0, mountPoint, options, served: () => new Thread(() =>
        {
            try
            {
                Run.Checked("stat", ["-c", "%i", mountPoint]);
            }
            catch (Exception e)
            {
                unmounting = e;
            }
            FuseMounter.Unmount(mountPoint, lazy: true, fusermount: null);
        }).Start());
        unmounting.Should().BeNull();
    }
}
