using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>The extractor's batch queue: lowest priority value first, blocking takers until there is one or the walk is over.</summary>
public class BlockingPriorityQueueTests
{
    [Fact]
    public void The_waiting_item_of_lowest_priority_is_taken_first_whatever_the_order_added()
    {
        var queue = new BlockingPriorityQueue<string>();
        queue.Add("second directory walked", 2);
        queue.Add("big directory found last", -2204);
        queue.Add("first directory walked", 1);
        queue.CompleteAdding();

        var taken = new List<string>();
        while (queue.TryTake(out var item)) taken.Add(item);

        taken.Should().Equal("big directory found last", "first directory walked", "second directory walked");
    }

    [Fact]
    public async Task A_taker_waits_for_an_item_and_ends_when_the_queue_is_complete_and_empty()
    {
        var queue = new BlockingPriorityQueue<int>();
        var first = Task.Factory.StartNew(() => queue.TryTake(out int item) ? item : -1, TaskCreationOptions.LongRunning);
        var second = Task.Factory.StartNew(() => queue.TryTake(out int item) ? item : -1, TaskCreationOptions.LongRunning);

        queue.Add(7, 1);
        queue.CompleteAdding();

        int[] results = await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(30));
        results.Should().BeEquivalentTo([7, -1]);
        queue.TryTake(out _).Should().BeFalse();
        queue.Invoking(q => q.Add(8, 1)).Should().Throw<InvalidOperationException>();
    }
}
