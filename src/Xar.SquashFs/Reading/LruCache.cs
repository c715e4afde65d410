namespace Xar.SquashFs.Reading;

/// <summary>
/// A thread-safe least-recently-used map bounded by a total cost (bytes, block words). Values are
/// immutable once added, so readers use them outside the lock; two threads that miss on the same
/// key both compute the value and the second insert wins, which is harmless for immutable data.
/// </summary>
internal sealed class LruCache<TKey, TValue> where TKey : notnull
{
    private readonly record struct Item(TKey Key, TValue Value, long Cost);

    private readonly object _lock = new();
    private readonly Dictionary<TKey, LinkedListNode<Item>> _map = new();
    private readonly LinkedList<Item> _order = new();
    private readonly long _capacity;
    private long _cost;

    public LruCache(long capacity) => _capacity = capacity;

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                if (node != _order.First)
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                }
                value = node.Value.Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    /// <summary>Adds or replaces a value; an item costlier than the whole capacity is not kept.</summary>
    public void Add(TKey key, TValue value, long cost)
    {
        if (cost > _capacity) return;
        lock (_lock)
        {
            if (_map.Remove(key, out var existing))
            {
                _order.Remove(existing);
                _cost -= existing.Value.Cost;
            }
            _map[key] = _order.AddFirst(new Item(key, value, cost));
            _cost += cost;
            while (_cost > _capacity && _order.Last is { } last)
            {
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
                _cost -= last.Value.Cost;
            }
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _map.Clear();
            _order.Clear();
            _cost = 0;
        }
    }
}
