using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>
/// Runs code under another umask without changing the test host's: the umask belongs to the
/// file-system context that all threads share, so a fresh thread first takes a copy of its own
/// (unshare(CLONE_FS)), sets the umask there and runs the code, which must not hop to other threads.
/// </summary>
internal static partial class ThreadUmask
{
    private const int CloneFs = 0x200;

    public static void Run(uint umask, Action action)
    {
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (Unshare(CloneFs) != 0)
                    throw new InvalidOperationException($"unshare(CLONE_FS) failed: errno {Marshal.GetLastPInvokeError()}");
                SetUmask(umask);
                action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int Unshare(int flags);

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint SetUmask(uint mask);
}
