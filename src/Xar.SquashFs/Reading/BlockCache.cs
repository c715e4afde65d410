namespace Xar.SquashFs.Reading;

/// <summary>Fills <paramref name="destination"/> with a decompressed block and returns its length.</summary>
internal delegate int BlockLoader<TState>(TState state, Span<byte> destination);

/// <summary>
/// A bounded LRU cache of decompressed data or fragment blocks keyed by their position in the image.
/// Buffers come from the image's <see cref="BlockBuffers"/>; a caller holds a <see cref="BlockLease"/> while it
/// copies, and an evicted buffer goes back to the pool only when its last lease ends, so eviction
/// never pulls memory from under a reader. Concurrent misses on one block wait for the single
/// decompression in flight instead of repeating it (many small files share one fragment block).
/// </summary>
internal sealed class BlockCache
{
    internal sealed class Slot(long key)
    {
        public readonly long Key = key;
        public byte[]? Buffer;
        public int Length;
        public int Cost;
        public Exception? Failure;
        public bool Ready;
        public bool Evicted;
        public int Leases;
        public LinkedListNode<Slot>? Node;
    }

    private readonly object _lock = new();
    private readonly Dictionary<long, Slot> _slots = new();
    private readonly LinkedList<Slot> _order = new();
    private readonly long _capacity;
    private readonly BlockBuffers _buffers;
    private long _cost;

    public BlockCache(long capacityBytes, BlockBuffers buffers)
    {
        _capacity = capacityBytes;
        _buffers = buffers;
    }

    /// <summary>
    /// Returns the block at <paramref name="key"/>, decompressing it with <paramref name="load"/> into
    /// a buffer of <paramref name="maxLength"/> bytes (at most a block) on a miss. The caller must dispose the lease.
    /// </summary>
    public BlockLease Acquire<TState>(long key, int maxLength, TState state, BlockLoader<TState> load)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, _buffers.Size);
        Slot slot;
        bool loader = false;
        lock (_lock)
        {
            if (_slots.TryGetValue(key, out var found))
            {
                slot = found;
                slot.Leases++;
                if (slot.Node is { } node && node != _order.First)
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                }
            }
            else
            {
                slot = new Slot(key) { Leases = 1, Cost = maxLength };
                _slots.Add(key, slot);
                slot.Node = _order.AddFirst(slot);
                _cost += maxLength;
                loader = true;
                EvictLocked();
            }
        }

        if (loader)
        {
            byte[] buffer = _buffers.Rent();
            try
            {
                int length = load(state, buffer.AsSpan(0, maxLength));
                lock (_lock)
                {
                    slot.Buffer = buffer;
                    slot.Length = length;
                    slot.Ready = true;
                    Monitor.PulseAll(_lock);
                }
            }
            catch (Exception e)
            {
                _buffers.Return(buffer);
                lock (_lock)
                {
                    // A failed block is not cached: the next reader retries (and fails the same way
                    // on a corrupt image, or succeeds after a transient I/O error).
                    RemoveLocked(slot);
                    slot.Failure = e;
                    slot.Ready = true;
                    slot.Leases--;
                    Monitor.PulseAll(_lock);
                }
                throw;
            }
        }
        else
            AwaitLoaded(slot);
        return new BlockLease(this, slot);
    }

    /// <summary>Whether the block at <paramref name="key"/> is cached or being loaded.</summary>
    public bool Contains(long key)
    {
        lock (_lock) return _slots.ContainsKey(key);
    }

    /// <summary>Waits for the load of a slot the caller holds a lease on; rethrows its failure (and drops the lease).</summary>
    private void AwaitLoaded(Slot slot)
    {
        lock (_lock)
        {
            while (!slot.Ready) Monitor.Wait(_lock);
            if (slot.Failure is { } failure)
            {
                slot.Leases--;
                throw failure is SquashFsException
                    ? new SquashFsException(failure.Message, failure)
                    : new IOException(failure.Message, failure);
            }
        }
    }

    internal void Release(Slot slot)
    {
        lock (_lock)
        {
            slot.Leases--;
            if (slot.Leases == 0 && slot.Evicted) ReturnBuffer(slot);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            foreach (var slot in _slots.Values.ToArray()) RemoveLocked(slot);
        }
    }

    private void EvictLocked()
    {
        // Evicting an entry that is still leased or still loading only unlinks it; its buffer
        // returns to the pool when the last lease ends.
        while (_cost > _capacity && _order.Last is { } last)
            RemoveLocked(last.Value);
    }

    private void RemoveLocked(Slot slot)
    {
        if (slot.Evicted) return;
        slot.Evicted = true;
        _slots.Remove(slot.Key);
        if (slot.Node is not null)
        {
            _order.Remove(slot.Node);
            slot.Node = null;
        }
        _cost -= slot.Cost;
        if (slot.Leases == 0) ReturnBuffer(slot);
    }

    private void ReturnBuffer(Slot slot)
    {
        if (slot.Buffer is { } buffer)
        {
            slot.Buffer = null;
            _buffers.Return(buffer);
        }
    }
}

/// <summary>A decompressed block held in a <see cref="BlockCache"/>; dispose to release it.</summary>
internal readonly struct BlockLease : IDisposable
{
    private readonly BlockCache _cache;
    private readonly BlockCache.Slot _slot;

    internal BlockLease(BlockCache cache, BlockCache.Slot slot)
    {
        _cache = cache;
        _slot = slot;
    }

    public ReadOnlySpan<byte> Data => _slot.Buffer.AsSpan(0, _slot.Length);

    public void Dispose() => _cache?.Release(_slot);
}
