namespace Xar.Cli.Tests.Support;

/// <summary>The `xar` command line, run in-process through its real entry point.</summary>
internal static class XarTool
{
    // System.CommandLine's option objects are static in the CLI and get a parent per command tree
    // built, which is not safe from several threads at once; builds are CPU-bound anyway.
    private static readonly Lock s_oneAtATime = new();

    public static RunResult Run(params string[] arguments) => RunIn(Environment.CurrentDirectory, arguments);

    /// <summary>Runs `xar` with <paramref name="directory"/> as the process's working directory meanwhile.</summary>
    public static RunResult RunIn(string directory, params string[] arguments)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exitCode;
        lock (s_oneAtATime)
        {
            string previous = Environment.CurrentDirectory;
            Environment.CurrentDirectory = directory;
            try
            {
                exitCode = XarCommandLine.Run(arguments, stdout, stderr);
            }
            finally
            {
                Environment.CurrentDirectory = previous;
            }
        }
        return new RunResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>`xar build ARGS -o OUTPUT --launcher …`; fails the test when the build fails.</summary>
    public static string Build(string output, params string[] arguments)
    {
        var result = Run(["build", .. arguments, "-o", output, "--launcher", Launcher.Path]);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"xar build {string.Join(' ', arguments)} failed: {result}");
        return output;
    }
}
