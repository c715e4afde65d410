using Xar.Python.Building;

namespace Xar.Python.Tests.Building;

/// <summary>
/// The build's scheduling of sources on its Python servers (<see cref="LargestFirst"/>): what is
/// observable is the order the items are handed out in, and that each item is run once.
/// </summary>
public sealed class LargestFirstTests
{
    [Fact]
    public void Items_are_handed_out_largest_first()
    {
        var started = new List<int>();

        LargestFirst.ForEach([3, 40, 1, 7, 40, 12], size => size, workers: 1, item => started.Add(item));

        started.Should().Equal(40, 40, 12, 7, 3, 1);
    }

    /// <summary>
    /// Two workers, one item at a time: the first worker keeps the largest item until the other
    /// has taken every other one (the test holds it there), so the largest never waits behind a
    /// run of smaller ones handed to the same worker — what ranges in path order did.
    /// </summary>
    [Fact]
    public void With_two_workers_the_others_go_to_the_second_while_the_first_holds_the_largest()
    {
        int[] items = [5, 2, 100, 9, 1, 30];
        using var othersDone = new CountdownEvent(items.Length - 1);
        var byThread = new System.Collections.Concurrent.ConcurrentDictionary<int, List<int>>();

        LargestFirst.ForEach(items, size => size, workers: 2, item =>
        {
            byThread.GetOrAdd(Environment.CurrentManagedThreadId, _ => []).Add(item);
            if (item == 100)
                othersDone.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("the other worker takes the rest one at a time");
            else
                othersDone.Signal();
        });

        byThread.Values.Should().HaveCount(2);
        byThread.Values.Should().ContainSingle(run => run.SequenceEqual(new[] { 100 }));
        byThread.Values.Should().ContainSingle(run => run.SequenceEqual(new[] { 30, 9, 5, 2, 1 }));
    }

    [Fact]
    public void A_failure_is_rethrown_as_itself()
    {
        var run = () => LargestFirst.ForEach([1, 2, 3], size => size, workers: 2, item =>
        {
            if (item == 2) throw new InvalidDataException("item 2 is bad");
        });

        run.Should().Throw<InvalidDataException>().WithMessage("item 2 is bad");
    }
}
