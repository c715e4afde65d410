using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>Signal dispositions (handlers in managed code go through PosixSignalRegistration instead).</summary>
public static partial class LibC
{
    public const int SIGPIPE = 13;

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint signal(int signal, nint handler);
}
