using System.Collections.Concurrent;
using Xar.SquashFs.Reading;

namespace Xar.Fuse;

/// <summary>
/// Decompresses data blocks into the image's data cache on worker threads, ahead of the READs
/// that will ask for them. A shared library is mapped and then faulted in by the dynamic loader
/// and the program a window (the kernel's read-around) at a time, all over the file, each fault
/// waiting for a READ: without prefetch every block is decompressed on the request path, one
/// fault at a time (a standalone Python's libpython: 6 blocks of 1 MiB, most of its cold start's
/// server time). <see cref="SquashFsFileSystem"/> queues the rest of an ELF file here when the
/// kernel reads its first bytes; the workers decompress while the loader maps and relocates, and
/// a READ meeting a block still in flight waits for that one decompression.
/// </summary>
/// <remarks>
/// Bounded: the queue holds at most <see cref="QueueCapacity"/> blocks (more are dropped: the
/// READ path decompresses them on demand), and what is prefetched lives in the data cache, an LRU
/// bounded by its size. A block that fails to load (a corrupt image) is not cached: the READ that
/// needs it fails with EIO as without prefetch, and the worker goes on.
/// </remarks>
internal sealed class BlockPrefetch : IDisposable
{
    /// <summary>Blocks waiting at most: 8 MiB of 128 KiB blocks, 64 MiB of 1 MiB blocks (the data cache evicts the oldest).</summary>
    public const int QueueCapacity = 64;

    private readonly SquashFsImage _image;
    private readonly BlockingCollection<(SquashFsEntry File, long Block)> _queue = new(QueueCapacity);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread[] _workers;
    private int _loaded;

    public BlockPrefetch(SquashFsImage image, int workers)
    {
        _image = image;
        _workers = [.. Enumerable.Range(0, workers).Select(i => new Thread(Work) { IsBackground = true, Name = $"fuse prefetch {i}" })];
        foreach (Thread worker in _workers)
            worker.Start();
    }

    /// <summary>Blocks the workers decompressed (not those found cached or in flight).</summary>
    public int Loaded => Volatile.Read(ref _loaded);

    /// <summary>Queues blocks <paramref name="first"/> to the last of <paramref name="file"/>'s data blocks, as many as fit.</summary>
    public void Queue(SquashFsEntry file, long first)
    {
        // A tail in a fragment counts as a block here; the image ignores indexes past the data blocks.
        long blocks = (file.Size + _image.BlockSize - 1) / _image.BlockSize;
        for (long block = first; block < blocks; block++)
        {
            if (!_queue.TryAdd((file, block)))
                return;
        }
    }

    private void Work()
    {
        try
        {
            foreach ((SquashFsEntry file, long block) in _queue.GetConsumingEnumerable(_stop.Token))
            {
                try
                {
                    if (_image.CacheDataBlock(file, block))
                        Interlocked.Increment(ref _loaded);
                }
                catch (Exception)
                {
                    // A malformed image or a failed pread: the READ that needs the block meets it and
                    // answers EIO. Whatever the reader throws, as on the request path (FuseSession
                    // answers EIO for any exception): an exception escaping a thread would end the
                    // daemon, and a hostile image must never take the mount down for other files.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed: what is still queued is dropped.
        }
    }

    /// <summary>Drops what is queued; waits for the workers to finish the block each holds.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        foreach (Thread worker in _workers)
            worker.Join();
        _queue.Dispose();
        _stop.Dispose();
    }
}
