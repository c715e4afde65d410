using System.CommandLine;
using Xar.Python.Building;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.Runtime;
using Xar.SquashFs;

namespace Xar.Cli;

/// <summary>The `xar` command tree. Every failure is one line on stderr and a non-zero exit code.</summary>
public static class XarCommandLine
{
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    /// <summary>Errors caused by the input or the host (reported in one line), as opposed to bugs (which keep their stack trace).</summary>
    private static bool IsUserError(Exception e) => e is SquashFsException or IOException or UnauthorizedAccessException
        or ArgumentException or InvalidOperationException or FormatException or PythonBuildException or InterpreterProbeException
        or InvalidWheelException or IncompatibleWheelException or InstalledDistributionException or DistributionResolutionException
        or ConflictingFilesException or XarRuntimeException
        or ArtifactHashException or LockFileException;

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var root = new RootCommand("xar: build Python applications and directories into single executable files (SquashFS images).");
        root.Subcommands.Add(BuildCommand.Create(stdout, stderr));
        root.Subcommands.Add(VerifyCommand.Create(stdout));
        root.Subcommands.Add(CacheCommand.Create(stdout, stderr));
        root.Subcommands.Add(SquashFsCommands.Create(stdout, stderr));
        foreach (var command in InspectionCommands.All(stdout, stderr, "FILE", "XAR archive (or bare SquashFS image)"))
            root.Subcommands.Add(command);
        foreach (var command in MountCommands.All(stdout))
            root.Subcommands.Add(command);
        var parse = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(configuration);
        }
        catch (Exception e) when (IsUserError(e))
        {
            stderr.WriteLine($"xar: {ErrorLine.Shorten(e.Message)}");
            return ExitFailure;
        }
    }
}
