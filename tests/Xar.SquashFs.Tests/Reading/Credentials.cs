using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>
/// Runs code as another user without leaving the test host. Linux credentials belong to threads;
/// glibc's setresuid changes every thread of the process, the raw system call only the caller's.
/// So a fresh thread switches itself (keeping 0 as saved uid to switch back) and runs the code,
/// which must not hop to other threads.
/// </summary>
internal static partial class Credentials
{
    public const uint Nobody = 65534;

    private static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
    private static long SetResUid => Arm64 ? 147 : 117;
    private static long SetResGid => Arm64 ? 149 : 119;

    public static void RunAs(uint uid, uint gid, Action action)
    {
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Check(Syscall(SetResGid, gid, gid, 0), "setresgid");
                Check(Syscall(SetResUid, uid, uid, 0), "setresuid");
                try
                {
                    action();
                }
                finally
                {
                    Check(Syscall(SetResUid, 0, 0, 0), "setresuid back");
                    Check(Syscall(SetResGid, 0, 0, 0), "setresgid back");
                }
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

    private static void Check(long result, string what)
    {
        if (result != 0) throw new InvalidOperationException($"{what} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long first, long second, long third);
}
