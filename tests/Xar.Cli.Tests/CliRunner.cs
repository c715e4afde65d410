using Xar.Cli;

namespace Xar.Cli.Tests;

/// <summary>Runs the `xar` command line in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Status, string Output, string Errors) RunXar(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = XarCommandLine.Run(args, stdout, stderr);
        return (status, stdout.ToString(), stderr.ToString());
    }
}
