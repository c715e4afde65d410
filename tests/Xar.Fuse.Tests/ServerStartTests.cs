namespace Xar.Fuse.Tests;

/// <summary>
/// The server's start is on every cold start's path (the launcher's lookups wait for INIT and the
/// first answers): INIT is answered on the thread that called <see cref="FuseServer.Serve"/>,
/// before any thread is started, and the mount counts as serving once the workers read.
/// </summary>
public class ServerStartTests
{
    [Fact]
    public void INIT_is_answered_on_the_serving_thread_and_the_mount_then_serves()
    {
        using var scratch = new TempDirectory("server-start");
        string mountPoint = scratch.Combine("mnt");
        Directory.CreateDirectory(mountPoint);
        string image = MountedImageTests.Image("ours");
        int device = FuseMounter.Mount(mountPoint, image, allowRoot: false, fusermount: null);
        using var imageFile = File.OpenHandle(image);
        int servingThread = Environment.CurrentManagedThreadId;
        int servedOn = -1;
        string? listing = null;
        Exception? failure = null;
        var options = new FuseServerOptions { Threads = 2, PrefetchWorkers = 1 };

        FuseServer.Serve(device, imageFile, 0, mountPoint, options, served: () =>
        {
            servedOn = Environment.CurrentManagedThreadId;
            new Thread(() =>
            {
                try
                {
                    listing = Run.Checked("ls", [mountPoint]);
                }
                catch (Exception e)
                {
                    failure = e;
                }
                FuseMounter.Unmount(mountPoint, lazy: true, fusermount: null);
            }).Start();
        });

        failure.Should().BeNull();
        listing.Should().NotBeNullOrEmpty("the workers answer once the mount is said to serve");
        servedOn.Should().Be(servingThread, "INIT is answered by the thread that serves, not handed to a worker thread that had to be started first");
    }
}
