namespace Xar.SquashFs;

/// <summary>
/// What must be undone if the process is told to stop (SIGINT, SIGTERM, SIGHUP) before it
/// finishes: temporary outputs to remove, child processes to end, scratch directories to delete.
/// A program that writes files installs signal handlers that call <see cref="RunAll"/> (the xar
/// CLI does, in Program.cs); the libraries only register. Cleanups run newest first, so a child
/// process is ended before the scratch directory it writes into is deleted.
/// </summary>
public static class InterruptCleanup
{
    private static readonly Lock s_lock = new();
    private static readonly LinkedList<Action> s_cleanups = new();
    private static bool s_stopping;

    /// <summary>
    /// Registers <paramref name="cleanup"/> until the returned object is disposed. When the
    /// process is already stopping, it runs at once (and whatever registered it should not go on).
    /// </summary>
    public static IDisposable Register(Action cleanup)
    {
        lock (s_lock)
        {
            if (s_stopping)
            {
                RunQuietly(cleanup);
                return new Registration(null);
            }
            return new Registration(s_cleanups.AddLast(cleanup));
        }
    }

    /// <summary>Runs every registered cleanup once, newest first; failures are ignored (the process is ending).</summary>
    public static void RunAll()
    {
        lock (s_lock)
        {
            s_stopping = true;
            while (s_cleanups.Last is { } last)
            {
                s_cleanups.RemoveLast();
                RunQuietly(last.Value);
            }
        }
    }

    private static void RunQuietly(Action cleanup)
    {
        try
        {
            cleanup();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Best effort: the process is ending, and one failed cleanup must not stop the others.
        }
    }

    private sealed class Registration(LinkedListNode<Action>? node) : IDisposable
    {
        public void Dispose()
        {
            lock (s_lock)
            {
                if (!s_stopping)
                {
                    if (node?.List is not null) s_cleanups.Remove(node);
                    return;
                }
            }
            // The process is being ended by a signal, whose default action follows the cleanups:
            // the work this registration guarded (failing now, cancelled) must not go on to exit
            // the process its own way first, with another status.
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
