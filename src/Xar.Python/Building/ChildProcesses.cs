using System.Diagnostics;
using Xar.SquashFs;

namespace Xar.Python.Building;

/// <summary>The interpreters a build starts (pip, compile servers), ended when xar is interrupted.</summary>
internal static class ChildProcesses
{
    /// <summary>Until disposed: if xar is interrupted, <paramref name="process"/> is killed with its own children.</summary>
    public static IDisposable EndOnInterrupt(Process process) => InterruptCleanup.Register(() =>
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit(TimeSpan.FromSeconds(5));
    });
}
