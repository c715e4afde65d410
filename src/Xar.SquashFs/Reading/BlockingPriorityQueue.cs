namespace Xar.SquashFs.Reading;

/// <summary>
/// A blocking producer-consumer queue that hands out the waiting item of lowest priority value
/// first: the extractor's batches, where big directories go before the rest (see
/// <c>Extractor.BigBatchCost</c>).
/// </summary>
internal sealed class BlockingPriorityQueue<T>
{
    private readonly object _lock = new();
    private readonly PriorityQueue<T, long> _items = new();
    private bool _complete;

    public void Add(T item, long priority)
    {
        lock (_lock)
        {
            if (_complete) throw new InvalidOperationException("the queue is complete");
            _items.Enqueue(item, priority);
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

    /// <summary>The waiting item of lowest priority value, waiting for one while the queue is not complete; false once it is complete and empty.</summary>
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
