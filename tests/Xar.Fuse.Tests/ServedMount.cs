using Xar.Fuse.Protocol;
using Xar.SquashFs.Reading;

namespace Xar.Fuse.Tests;

/// <summary>
/// An image mounted with our server in this process (mount(2) as root, or fusermount3), its
/// requests counted; Dispose unmounts lazily and waits for the serving loop to end.
/// </summary>
internal sealed class ServedMount : IDisposable
{
    private readonly TempDirectory _scratch = new("fuse");
    private readonly SquashFsImage _image;
    private readonly int _device;
    private readonly Thread _loop;

    /// <param name="stores">Whether the prefetch stores the ELF files it prefetches into the page cache (<see cref="Notifier"/>).</param>
    public ServedMount(string imagePath, bool viaFusermount = false, int threads = 4, int prefetchWorkers = 2, bool stores = false)
    {
        Directory = _scratch.Combine("mnt");
        System.IO.Directory.CreateDirectory(Directory);
        _image = SquashFsImage.Open(imagePath);
        _device = viaFusermount
            ? FuseMounter.MountWithFusermount("/usr/bin/fusermount3", Directory, imagePath, allowOther: false)
            : FuseMounter.Mount(Directory, imagePath, allowRoot: false, fusermount: null);
        Notifier = stores ? new FuseStoreNotifier(_device) : null;
        Served = new SquashFsFileSystem(_image, prefetchWorkers: prefetchWorkers, notifier: Notifier);
        FileSystem = new CountingFileSystem(Served);
        Session = new FuseSession(_device, FileSystem, threads);
        _loop = new Thread(Session.Run) { IsBackground = true, Name = "served mount" };
        _loop.Start();
    }

    public string Directory { get; }

    public CountingFileSystem FileSystem { get; }

    /// <summary>The file system behind <see cref="FileSystem"/>.</summary>
    public SquashFsFileSystem Served { get; }

    public FuseSession Session { get; }

    /// <summary>The store notifications of the prefetch; null unless asked for.</summary>
    public FuseStoreNotifier? Notifier { get; }

    public string Combine(params string[] parts) => Path.Combine([Directory, .. parts]);

    /// <summary>Whether the serving loop ended (after an unmount) within <paramref name="timeout"/>.</summary>
    public bool Ended(TimeSpan timeout) => _loop.Join(timeout);

    public void Dispose()
    {
        if (Mounts.IsMountPoint(Directory))
            FuseMounter.Unmount(Directory, lazy: true, "/usr/bin/fusermount3");
        _loop.Join(TimeSpan.FromSeconds(30)).Should().BeTrue("the serving loop ends once the mount is gone");
        new Microsoft.Win32.SafeHandles.SafeFileHandle(_device, ownsHandle: true).Dispose();
        Served.Dispose();
        _image.Dispose();
        _scratch.Dispose();
    }
}

/// <summary>Counts the requests that reach the file system: what the kernel did not answer from its caches.</summary>
internal sealed class CountingFileSystem(IFuseFileSystem inner) : IFuseFileSystem
{
    private int _lookups;
    private int _getAttributes;
    private int _readDirectories;
    private int _reads;

    public int Lookups => Volatile.Read(ref _lookups);
    public int GetAttributeCalls => Volatile.Read(ref _getAttributes);
    public int ReadDirectoryCalls => Volatile.Read(ref _readDirectories);
    public int Reads => Volatile.Read(ref _reads);

    public TimeSpan CacheTimeout => inner.CacheTimeout;
    public bool HasXattrs => inner.HasXattrs;

    public int Lookup(ulong parent, ReadOnlySpan<byte> name, out ulong node, out FuseNodeAttributes attributes)
    {
        Interlocked.Increment(ref _lookups);
        return inner.Lookup(parent, name, out node, out attributes);
    }

    public int GetAttributes(ulong node, out FuseNodeAttributes attributes)
    {
        Interlocked.Increment(ref _getAttributes);
        return inner.GetAttributes(node, out attributes);
    }

    public int ReadDirectory(ulong node, long offset, ref DirectoryFiller filler)
    {
        Interlocked.Increment(ref _readDirectories);
        return inner.ReadDirectory(node, offset, ref filler);
    }

    public int Read(ulong node, long offset, Span<byte> destination, out int count)
    {
        Interlocked.Increment(ref _reads);
        return inner.Read(node, offset, destination, out count);
    }

    public int ReadLink(ulong node, out ReadOnlyMemory<byte> target) => inner.ReadLink(node, out target);
    public int GetStatistics(out FuseFileSystemStatistics statistics) => inner.GetStatistics(out statistics);
    public int GetXattr(ulong node, ReadOnlySpan<byte> name, out ReadOnlyMemory<byte> value) => inner.GetXattr(node, name, out value);
    public int ListXattrs(ulong node, out ReadOnlyMemory<byte> names) => inner.ListXattrs(node, out names);
    public void Forget(ulong node, ulong count) => inner.Forget(node, count);
}
