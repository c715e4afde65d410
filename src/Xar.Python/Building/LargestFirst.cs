using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Xar.Python.Building;

/// <summary>
/// Runs work items on a few servers, the largest first and one at a time: a source's parse and
/// compile time grows with its size, and sympy's or botocore's largest modules take a hundred
/// times the median one, so ranges handed out in path order left one server alone on a run of
/// them while the others waited at the end of each wave. Largest first, the last item to finish
/// is a small one.
/// </summary>
internal static class LargestFirst
{
    /// <summary>Calls <paramref name="body"/> for each item on up to <paramref name="workers"/> threads; rethrows the first failure as itself.</summary>
    public static void ForEach<T>(IEnumerable<T> items, Func<T, long> size, int workers, Action<T> body)
    {
        var ordered = items.OrderByDescending(size).ToList();
        try
        {
            Parallel.ForEach(Partitioner.Create(ordered, EnumerablePartitionerOptions.NoBuffering),
                new ParallelOptions { MaxDegreeOfParallelism = workers }, body);
        }
        catch (AggregateException e)
        {
            // Reading a source is where a wheel member fails its RECORD hash: callers get that
            // InvalidWheelException (a one-line user error), not the parallel loop's wrapper.
            ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
        }
    }
}
