using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Xar.Fuse.Protocol;
using Xar.Interop;
using Xar.SquashFs.Reading;

namespace Xar.Fuse;

/// <summary>How <see cref="FuseServer.Serve"/> serves and when it lets go.</summary>
public sealed record FuseServerOptions
{
    /// <summary>Unmount after this long without a request, once nothing on the mount is open (the original's squashfuse_ll -o timeout); null: never.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>The mount was made with allow_root (<see cref="FuseMounter.Mount"/>): requests of users but the owner and root reach the server, which refuses them.</summary>
    public bool AllowRoot { get; init; }

    /// <summary>Threads reading requests.</summary>
    public int Threads { get; init; } = Math.Clamp(Environment.ProcessorCount, 2, 8);

    /// <summary>Threads decompressing blocks ahead of the READs (<see cref="BlockPrefetch"/>); 0: none.</summary>
    public int PrefetchWorkers { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>
    /// The files every start reads first (each up to its <see cref="StartFile.Length"/>), decompressed
    /// into the block cache by the prefetch from the moment the mount serves, while the target is
    /// executed; null: none. Resolved on a thread of its own; a failure only means no such warm-up.
    /// </summary>
    public Func<SquashFsImage, IReadOnlyList<StartFile>>? StartFiles { get; init; }

    /// <summary>fusermount3, for unmounting when umount2 is not permitted.</summary>
    public string? Fusermount { get; init; }

    /// <summary>A file to append the request statistics to on SIGUSR1 and when the server ends (XAR_FUSE_STATISTICS); null: none.</summary>
    public string? StatisticsPath { get; init; }

    /// <summary>
    /// Called once the server has ended with the names looked up and not found while it served
    /// (<see cref="SquashFsFileSystem.MissedNames"/>, at most <see cref="MissedNameLimit"/>), for the
    /// next mount's read-ahead to look up early; null: none are kept. A failure is ignored.
    /// </summary>
    public Action<IReadOnlyList<string>>? MissedNames { get; init; }

    /// <summary>At most this many missed names are kept (awscli's skeleton command misses ~1,000).</summary>
    public const int MissedNameLimit = 4096;

    /// <summary>How often the idle check runs; a quarter of the timeout, at most 10 s.</summary>
    internal TimeSpan IdleCheckInterval =>
        IdleTimeout is { } timeout ? TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond * 10)) : Timeout.InfiniteTimeSpan;
}

/// <summary>
/// Serves a SquashFS image (at an offset of a file) on a mount point until it is unmounted: by
/// someone else, by SIGTERM/SIGINT (a lazy unmount; a second signal ends the server), or by the
/// idle timeout (a plain unmount, which the kernel refuses while a file, directory or working
/// directory on the mount is in use, and after which the server ends).
/// </summary>
public static class FuseServer
{
    /// <summary>
    /// Opens the image in <paramref name="imageFile"/> (left open) and serves it on <paramref name="device"/>, the connected /dev/fuse
    /// descriptor of a mount on <paramref name="mountPoint"/> that the caller made
    /// (<see cref="FuseMounter.Mount"/>) and that this call closes; calls <paramref name="served"/>
    /// once the kernel's INIT is answered (on the calling thread, before any thread starts) and the
    /// workers read (the mount then serves), and serves until unmounted.
    /// </summary>
    /// <exception cref="IOException">The image cannot be opened, or reading the device failed.</exception>
    /// <exception cref="Xar.SquashFs.SquashFsException">The image is malformed.</exception>
    public static void Serve(int device, SafeFileHandle imageFile, long imageOffset, string mountPoint, FuseServerOptions options, Action served)
    {
        SquashFsImage opened;
        try
        {
            opened = SquashFsImage.Open(imageFile, imageOffset, ownsHandle: false);
        }
        catch
        {
            LibC.close(device); // requests to the mount then fail (ENOTCONN) instead of waiting
            throw;
        }
        using SquashFsImage image = opened;
        var notifier = new FuseStoreNotifier(device);
        var fileSystem = new SquashFsFileSystem(image, prefetchWorkers: options.PrefetchWorkers, notifier: notifier,
            missLimit: options.MissedNames is null ? 0 : FuseServerOptions.MissedNameLimit);
        FuseSession session;
        try
        {
            session = RunSession(device, image, fileSystem, notifier, mountPoint, options, served);
        }
        finally
        {
            // The prefetch workers write the notifier's stores to the device: they end before it
            // closes, or a store could go to whatever file gets the descriptor's number next.
            fileSystem.Dispose();
            LibC.close(device);
        }
        if (options.StatisticsPath is not null)
            WriteStatistics(session, notifier, options.StatisticsPath, "end");
        if (options.MissedNames is { } missedNames && fileSystem.MissedNames is { Count: > 0 } misses)
        {
            try
            {
                missedNames(misses);
            }
#pragma warning disable CA1031 // A hint for the next mount only: the server's end must not fail for it.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
        if (session.Failure is { } failure)
            throw new IOException(failure);
    }

    /// <summary>Runs the session on <paramref name="fileSystem"/> until unmounted or stopped; the caller closes the device.</summary>
    /// <remarks>
    /// The order is that of a cold start's wait: INIT is answered on this thread before any
    /// thread is started (each start waits for the new thread to be scheduled: milliseconds on a
    /// busy host) nor signal handling set up, then the workers start and serve the launcher's
    /// lookups; only then the threads nobody waits for: the idle unmount and the start set's,
    /// which starts the prefetch workers off the request path.
    /// </remarks>
    private static FuseSession RunSession(int device, SquashFsImage image, SquashFsFileSystem fileSystem, FuseStoreNotifier notifier, string mountPoint,
        FuseServerOptions options, Action served)
    {
        using var stop = new ManualResetEventSlim();
        Thread? idle = null;
        FuseSession? created = null;
        void Serving()
        {
            served();
            if (options.IdleTimeout is { } timeout)
            {
                idle = new Thread(() => UnmountWhenIdle(created!, mountPoint, timeout, options, stop)) { IsBackground = true, Name = "fuse idle unmount" };
                idle.Start();
            }
            // The start set is resolved and decompressed once the mount serves: before, its work
            // would only compete for the processors with the server's own start, which every cold start waits for.
            if (options.StartFiles is { } startFiles)
                new Thread(() => Warm(image, fileSystem, startFiles)) { IsBackground = true, Name = "fuse start set" }.Start();
        }
        var session = created = new FuseSession(device, fileSystem, options.Threads, Serving, options.AllowRoot);
        session.AnswerInit();
        int signals = 0;
        void Detach(PosixSignalContext context)
        {
            context.Cancel = true;
            // The first signal detaches the mount, whose files still open are served until closed;
            // a second one ends the server at once (what a copy of the mount in another namespace
            // would otherwise keep alive: Stop's remarks).
            if (Interlocked.Increment(ref signals) == 1)
                FuseMounter.Unmount(mountPoint, lazy: true, options.Fusermount);
            else
                session.Stop();
        }
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Detach);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Detach);
        const PosixSignal userSignal1 = (PosixSignal)10;
        using PosixSignalRegistration? dump = options.StatisticsPath is { } statisticsPath
            ? PosixSignalRegistration.Create(userSignal1, context =>
            {
                context.Cancel = true;
                WriteStatistics(session, notifier, statisticsPath, "SIGUSR1");
            })
            : null;
        try
        {
            session.Run();
        }
        finally
        {
            stop.Set();
            idle?.Join();
        }
        return session;
    }

    private static void Warm(SquashFsImage image, SquashFsFileSystem fileSystem, Func<SquashFsImage, IReadOnlyList<StartFile>> startFiles)
    {
        try
        {
            fileSystem.StartPrefetch();
            foreach (StartFile start in startFiles(image))
                fileSystem.Prefetch(start.File, start.Length);
        }
#pragma warning disable CA1031 // A warm-up only: a malformed archive fails its start on its own, and an exception here would end the daemon.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>
    /// Appends the statistics to <paramref name="path"/>. The daemon often runs as root and the path
    /// may be in a shared directory, so a symlink there is not followed and a FIFO cannot block it;
    /// a file that cannot be opened that way gets no statistics.
    /// </summary>
    private static void WriteStatistics(FuseSession session, FuseStoreNotifier notifier, string path, string when)
    {
        const int appendFlags = LibC.O_WRONLY | LibC.O_CREAT | LibC.O_APPEND | LibC.O_NONBLOCK;
        int fd = LibC.Open(path, appendFlags | LibC.O_NOFOLLOW, 0b110_000_000, out _);
        if (fd < 0)
            return; // A diagnostic: the server goes on serving without it.
        LibC.WriteAll(fd, Encoding.UTF8.GetBytes($"# pid {Environment.ProcessId}, {when}\nNOTIFY_STORE {notifier.StoredBytes} bytes\n{session.Statistics.Format()}"));
        LibC.close(fd);
    }

    private static void UnmountWhenIdle(FuseSession session, string mountPoint, TimeSpan timeout, FuseServerOptions options, ManualResetEventSlim stop)
    {
        while (!stop.Wait(options.IdleCheckInterval))
        {
            if (Stopwatch.GetElapsedTime(session.LastRequestTimestamp) < timeout)
                continue;
            // Not lazy: EBUSY while anything is open there, and then it stays until the next idle period.
            if (FuseMounter.Unmount(mountPoint, lazy: false, options.Fusermount) == 0)
            {
                session.Stop();
                return;
            }
        }
    }
}
