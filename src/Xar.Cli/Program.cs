using System.Runtime.InteropServices;
using Xar.Cli;
using Xar.SquashFs;

// Interrupted, xar removes its temporary outputs, ends the pip and compiler processes it started
// and deletes its scratch directories; the signal's default action then ends the process, so
// the shell sees it killed by that signal (status 128 + its number).
PosixSignalRegistration[] interrupts = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
    .Select(signal => PosixSignalRegistration.Create(signal, _ => InterruptCleanup.RunAll()))];
try
{
    return XarCommandLine.Run(args);
}
finally
{
    foreach (var registration in interrupts) registration.Dispose();
}
