using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Xar.Fuse.Protocol;
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
/// a READ meeting a block still in flight waits for that one decompression. With a
/// <see cref="FuseStoreNotifier"/>, blocks queued with the file's node id are then pushed into the
/// kernel's page cache (FUSE_NOTIFY_STORE): the faults that meet them need no READ at all.
/// </summary>
/// <remarks>
/// Bounded: the queue holds at most <see cref="QueueCapacity"/> blocks (more are dropped: the
/// READ path decompresses them on demand), and what is prefetched lives in the data cache, an LRU
/// bounded by its size. A block that fails to load (a corrupt image) is not cached: the READ that
/// needs it fails with EIO as without prefetch, and the worker goes on; nothing of it is stored.
/// Stores are written by these workers, never by the session's: a store waits for pages under a
/// READ, which only a session worker can answer.
/// </remarks>
internal sealed class BlockPrefetch : IDisposable
{
    /// <summary>Blocks waiting at most: 8 MiB of 128 KiB blocks, 64 MiB of 1 MiB blocks (the data cache evicts the oldest).</summary>
    public const int QueueCapacity = 64;

    private readonly SquashFsImage _image;
    private readonly FuseStoreNotifier? _notifier;
    private readonly BlockingCollection<(SquashFsEntry File, long Block, ulong Node)> _queue = new(QueueCapacity);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread[] _workers;
    private int _loaded;
    private readonly Lock _starting = new();
    private bool _started;
    private bool _disposed;

    /// <param name="notifier">Where blocks queued with a node id are stored once decompressed; null: nowhere.</param>
    public BlockPrefetch(SquashFsImage image, int workers, FuseStoreNotifier? notifier = null)
    {
        _image = image;
        _notifier = notifier;
        _workers = [.. Enumerable.Range(0, workers).Select(i => new Thread(Work) { IsBackground = true, Name = $"fuse prefetch {i}" })];
    }

    /// <summary>Blocks the workers decompressed (not those found cached or in flight).</summary>
    public int Loaded => Volatile.Read(ref _loaded);

    /// <summary>Whether blocks queued with a node id are stored into the kernel's page cache.</summary>
    public bool Stores => _notifier is not null;

    /// <summary>
    /// Queues blocks <paramref name="first"/> to the last of <paramref name="file"/>'s (or the last
    /// holding its first <paramref name="length"/> bytes), as many as fit; the fragment tail counts
    /// as a block. With a <paramref name="node"/> (the file's node id, which the kernel holds) they
    /// are also stored into its page cache.
    /// </summary>
    public void Queue(SquashFsEntry file, long first, ulong node = 0, long length = long.MaxValue)
    {
        if (!Start())
            return;
        // The tail in a fragment is index BlockCount (SquashFsImage.CacheDataBlock).
        long blocks = (Math.Min(file.Size, length) + _image.BlockSize - 1) / _image.BlockSize;
        for (long block = first; block < blocks; block++)
        {
            if (!_queue.TryAdd((file, block, node)))
                return;
        }
    }

    /// <summary>
    /// Starts the workers unless they run; false once disposed. Called by the first queueing, or
    /// earlier by the server's start-set thread, never with the server: starting a thread waits
    /// for it to be scheduled, and neither the server's start (every cold start waits for its
    /// INIT answer and first lookups) nor a READ should wait for that.
    /// </summary>
    public bool Start()
    {
        lock (_starting)
        {
            if (_disposed)
                return false;
            if (!_started)
            {
                foreach (Thread worker in _workers)
                    worker.Start();
                _started = true;
            }
            return true;
        }
    }

    private unsafe void Work()
    {
        byte* message = null;
        try
        {
            foreach ((SquashFsEntry file, long block, ulong node) in _queue.GetConsumingEnumerable(_stop.Token))
            {
                try
                {
                    if (_image.CacheDataBlock(file, block))
                        Interlocked.Increment(ref _loaded);
                    if (node != 0 && _notifier is not null)
                    {
                        if (message is null)
                            message = (byte*)NativeMemory.Alloc((nuint)(FuseStoreNotifier.HeaderSize + _image.BlockSize));
                        Store(file, block, node, message);
                    }
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
        finally
        {
            NativeMemory.Free(message);
        }
    }

    /// <summary>
    /// Stores block <paramref name="block"/> of <paramref name="file"/>, as the file's bytes (from
    /// the data cache, or decompressed again if it was evicted), up to the file's end and never
    /// past it; a block that fails to load throws before anything is written.
    /// </summary>
    private unsafe void Store(SquashFsEntry file, long block, ulong node, byte* message)
    {
        long offset = block * _image.BlockSize;
        var data = new Span<byte>(message + FuseStoreNotifier.HeaderSize, _image.BlockSize);
        int length = _image.ReadFile(file, offset, data);
        _notifier!.Store(node, offset, message, length);
    }

    /// <summary>Drops what is queued; waits for the workers to finish the block each holds.</summary>
    public void Dispose()
    {
        lock (_starting)
            _disposed = true;
        _stop.Cancel();
        if (_started)
        {
            foreach (Thread worker in _workers)
                worker.Join();
        }
        _queue.Dispose();
        _stop.Dispose();
    }
}
