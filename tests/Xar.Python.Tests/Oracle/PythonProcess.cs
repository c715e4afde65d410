namespace Xar.Python.Tests.Oracle;

/// <summary>
/// Python (and pip through it) run as the tests compare with it: UTF-8 on the standard streams,
/// and pip never prompting nor looking for a newer version of itself.
/// </summary>
internal static class PythonProcess
{
    private static readonly Dictionary<string, string?> Environment = new()
    {
        ["PYTHONIOENCODING"] = "utf-8",
        ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1",
        ["PIP_NO_INPUT"] = "1",
    };

    /// <summary>Runs <paramref name="python"/> and returns its standard output; a non-zero exit status fails with everything it printed.</summary>
    public static string Run(string python, IEnumerable<string> arguments, string? workingDirectory = null, string? stdin = null) =>
        Xar.Testing.Run.Checked(python, arguments, Environment, workingDirectory: workingDirectory, stdin: stdin);
}
