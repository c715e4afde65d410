using Xar.SquashFs.Tests.Reading;

namespace Xar.Fuse.Tests;

/// <summary>
/// FuseServerOptions.MissedNames: when the server ends it hands over the names the kernel looked
/// up that the image does not have, as paths relative to the root, once each, in the order first
/// asked (what the launcher's daemon keeps for the next fresh mount's read-ahead).
/// </summary>
public class MissedNameTests
{
    [Fact]
    public void The_names_looked_up_and_not_found_are_handed_over_when_the_server_ends()
    {
        using var scratch = new TempDirectory("missed");
        string image = MountedImageTests.Image("ours");
        string directory = Path.GetFileName(Directory.GetDirectories(ImageCache.Unsquashed(image)).Order(StringComparer.Ordinal).First());
        string existing = Path.GetFileName(Directory.GetFileSystemEntries(ImageCache.Unsquashed(image)).Order(StringComparer.Ordinal).First());
        // Stats of a missing name at the root, one in a directory, the same one again (the kernel
        // has cached the miss: no second LOOKUP), a name that exists, and one that is not UTF-8.
        string script = $"cd '{{0}}' && for name in missing-1 '{directory}/missing-2' missing-1 '{existing}' \"$(printf 'bad\\377')\"; do stat \"$name\" || true; done";

        IReadOnlyList<string>? missed = Serve(scratch, image, script);

        missed.Should().Equal("missing-1", $"{directory}/missing-2");
    }

    /// <summary>Serves <paramref name="image"/> while <paramref name="script"/> (formatted with the mount point) runs, then unmounts; returns what MissedNames was given.</summary>
    private static IReadOnlyList<string>? Serve(TempDirectory scratch, string image, string script)
    {
        string mountPoint = scratch.Combine("mnt");
        Directory.CreateDirectory(mountPoint);
        Exception? failure = null;
        IReadOnlyList<string>? missed = null;
        var options = new FuseServerOptions { MissedNames = names => missed = names };
        int device = FuseMounter.Mount(mountPoint, image, allowRoot: false, fusermount: null);
        using var imageFile = File.OpenHandle(image);
        FuseServer.Serve(device, imageFile, 0, mountPoint, options, served: () => new Thread(() =>
        {
            try
            {
                Run.Checked("sh", ["-c", string.Format(System.Globalization.CultureInfo.InvariantCulture, script, mountPoint)]);
            }
            catch (Exception e)
            {
                failure = e;
            }
            FuseMounter.Unmount(mountPoint, lazy: true, fusermount: null);
        }).Start());
        failure.Should().BeNull();
        return missed;
    }
}
