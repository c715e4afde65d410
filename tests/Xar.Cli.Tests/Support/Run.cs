using System.Diagnostics;

namespace Xar.Cli.Tests.Support;

public readonly record struct RunResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

internal static class Run
{
    /// <summary>What `env -i PATH=/usr/bin:/bin` leaves: nothing of the test runner's environment.</summary>
    public const string CleanPath = "/usr/bin:/bin";

    /// <summary>
    /// Runs a program and waits (killing it after <paramref name="timeout"/>). With
    /// <paramref name="cleanEnvironment"/> the child gets only PATH=/usr/bin:/bin plus
    /// <paramref name="environment"/>, as under `env -i`; otherwise the runner's environment with
    /// <paramref name="environment"/> applied (a null value removes a variable).
    /// </summary>
    public static RunResult Program(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null,
        bool cleanEnvironment = false, string? workingDirectory = null, string? stdin = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
            start.WorkingDirectory = workingDirectory;
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        if (cleanEnvironment)
        {
            start.Environment.Clear();
            start.Environment["PATH"] = CleanPath;
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        }
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
            process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish");
        }
        process.WaitForExit();
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs a program and returns its stdout; fails the test with everything it printed when it exits non-zero.</summary>
    public static string Checked(string file, params string[] arguments)
    {
        var result = Program(file, arguments);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed: {result}");
        return result.Stdout;
    }
}
