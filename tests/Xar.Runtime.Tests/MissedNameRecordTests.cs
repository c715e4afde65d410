namespace Xar.Runtime.Tests;

/// <summary>
/// The daemon's record of missed names: written only into the per-image directory the bootstrap
/// made, merged with what earlier mounts recorded, never with a name the read-ahead would not
/// follow, never over a symlink; a damaged record is replaced.
/// </summary>
public sealed class MissedNameRecordTests : IDisposable
{
    private const string Hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private RuntimeSettings Settings => new() { XdgCacheHome = _sandbox.Cache, Home = _sandbox.Home };

    private string ImageDirectory => Path.Combine(_sandbox.Cache, "xar", ".app-caches", Hash);

    private string RecordPath => Path.Combine(ImageDirectory, MissedNameRecord.FileName);

    private void MakeImageDirectory() =>
        Directory.CreateDirectory(ImageDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    [Fact]
    public void Names_are_added_in_order_once_each_and_unfollowable_ones_are_left_out()
    {
        MakeImageDirectory();

        MissedNameRecord.Add(["a/service-2.json", "top.pth"], Hash, Settings, "app.xar");
        MissedNameRecord.Add(["top.pth", "a/../../etc/passwd", "/etc/passwd", "a//b", "b/waiters-2.json"], Hash, Settings, "app.xar");

        File.ReadAllText(RecordPath).Should().Be("xar missing names 1\na/service-2.json\ntop.pth\nb/waiters-2.json\n");
        File.GetUnixFileMode(RecordPath).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.GetFiles(ImageDirectory).Should().Equal(RecordPath);
    }

    [Fact]
    public void Nothing_is_written_where_the_bootstrap_made_no_directory_for_the_image()
    {
        MissedNameRecord.Add(["a/service-2.json"], Hash, Settings, "app.xar");

        Directory.Exists(ImageDirectory).Should().BeFalse();
    }

    [Fact]
    public void A_damaged_record_is_replaced()
    {
        MakeImageDirectory();
        File.WriteAllText(RecordPath, "xar missing names 1\n../outside\n");

        MissedNameRecord.Add(["a/service-2.json"], Hash, Settings, "app.xar");

        File.ReadAllText(RecordPath).Should().Be("xar missing names 1\na/service-2.json\n");
    }

    [Fact]
    public void A_symlink_at_the_record_is_not_followed()
    {
        MakeImageDirectory();
        string victim = Path.Combine(_sandbox.Home, "victim");
        File.WriteAllText(victim, "kept\n");
        File.CreateSymbolicLink(RecordPath, victim);

        MissedNameRecord.Add(["a/service-2.json"], Hash, Settings, "app.xar");

        File.ReadAllText(victim).Should().Be("kept\n");
        new FileInfo(RecordPath).LinkTarget.Should().Be(victim, "nothing is renamed over a symlink");
        Directory.GetFileSystemEntries(ImageDirectory).Should().Equal(RecordPath);
    }
}
