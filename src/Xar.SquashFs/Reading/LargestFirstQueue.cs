namespace Xar.SquashFs.Reading;

/// <summary>
/// A blocking producer-consumer queue that hands out the costliest waiting item first: the
/// extractor's batches, so that a big directory found late in the walk is not the last batch
/// written while the other threads have nothing left (cfn-lint's 2,204-file schema directory
/// was written alone for the last 110 ms of a 520 ms extraction). Largest-first scheduling
/// keeps the tail to about the smallest batches.
/// </summary>
internal sealed class LargestFirstQueue<T>
{
    private readonly object _lock = new();
    private readonly PriorityQueue<T, long> _items = new();
    private bool _complete;

    public void Add(T item, long cost)
    {
        lock (_lock)
        {
            if (_complete) throw new InvalidOperationException("the queue is complete");
            _items.Enqueue(item, -cost);
            Monitor.Pulse(_lock);
        }
    }

    /// <summary>No more items: takers get what is left, then false.</summary>
    public void CompleteAdding()
    {
        lock (_lock)
        {
            _complete = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>The costliest waiting item, waiting for one while the queue is not complete; false once it is complete and empty.</summary>
    public bool TryTake(out T item)
    {
        lock (_lock)
        {
            while (!_items.TryDequeue(out item!, out _))
            {
                if (_complete) return false;
                Monitor.Wait(_lock);
            }
            return true;
        }
    }
}
