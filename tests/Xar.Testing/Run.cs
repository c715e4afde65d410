using System.Diagnostics;
using System.Text;

namespace Xar.Testing;

/// <summary>How a program ended and what it printed.</summary>
public readonly record struct RunResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>
/// Runs programs to completion with their output captured, as UTF-8. Every run has a deadline: a
/// program still running then is killed with its children, and one that exited while a process
/// it left behind still holds its output fails too, so a test fails with a message instead of
/// hanging (after five minutes unless told otherwise). A program that cannot be started throws
/// <see cref="System.ComponentModel.Win32Exception"/>.
/// </summary>
public static class Run
{
    /// <summary>The PATH of a clean environment: what `env -i PATH=/usr/bin:/bin` leaves.</summary>
    public const string CleanPath = "/usr/bin:/bin";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// Runs <paramref name="file"/> and returns how it ended, whatever its exit status. With
    /// <paramref name="cleanEnvironment"/> the program gets only PATH=<see cref="CleanPath"/> plus
    /// <paramref name="environment"/>; otherwise the test's environment with
    /// <paramref name="environment"/> applied. A null value removes a variable. Standard input is
    /// <paramref name="stdin"/>, or empty.
    /// </summary>
    public static RunResult Program(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null,
        bool cleanEnvironment = false, string? workingDirectory = null, string? stdin = null, TimeSpan? timeout = null)
    {
        var (exitCode, stdout, stderr) = Execute(Start(file, arguments, environment, cleanEnvironment, workingDirectory),
            stdin is null ? null : Utf8.GetBytes(stdin), timeout ?? DefaultTimeout);
        return new RunResult(exitCode, Utf8.GetString(stdout), stderr);
    }

    /// <summary>Runs like <see cref="Program"/>; returns the standard output, or throws with everything printed when the exit status is not 0.</summary>
    public static string Checked(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null,
        bool cleanEnvironment = false, string? workingDirectory = null, string? stdin = null, TimeSpan? timeout = null)
    {
        string[] argv = [.. arguments];
        RunResult result = Program(file, argv, environment, cleanEnvironment, workingDirectory, stdin, timeout);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{Describe(file, argv)} failed: {result}");
        return result.Stdout;
    }

    /// <summary>Runs like <see cref="Checked"/>, with standard input and output as bytes (compressors, listings of names that are not UTF-8).</summary>
    public static byte[] CheckedBytes(string file, IEnumerable<string> arguments, byte[]? stdin = null)
    {
        string[] argv = [.. arguments];
        var (exitCode, stdout, stderr) = Execute(Start(file, argv, null, false, null), stdin, DefaultTimeout);
        if (exitCode != 0)
            throw new InvalidOperationException($"{Describe(file, argv)} failed: exit {exitCode}\nstderr: {stderr}");
        return stdout;
    }

    private static ProcessStartInfo Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment,
        bool cleanEnvironment, string? workingDirectory)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardErrorEncoding = Utf8,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
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
        return start;
    }

    /// <summary>
    /// Starts the process, again while its file is "busy" (ETXTBSY): a test that has just written an
    /// executable (an archive) can find it still open for writing in a child another test thread
    /// forked meanwhile, until that child's exec closes it — a race of the test process, not of the
    /// program under test (Go's os/exec retries the same way).
    /// </summary>
    private static Process StartRetryingBusyText(ProcessStartInfo start)
    {
        const int TextFileBusy = 26; // ETXTBSY
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e) when (e.NativeErrorCode == TextFileBusy && attempt < 50)
            {
                Thread.Sleep(20);
            }
        }
    }

    private static (int ExitCode, byte[] Stdout, string Stderr) Execute(ProcessStartInfo start, byte[]? stdin, TimeSpan timeout)
    {
        var elapsed = Stopwatch.StartNew();
        using Process process = StartRetryingBusyText(start);
        var stdout = new MemoryStream();
        Task readStdout = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        Task<string> readStderr = process.StandardError.ReadToEndAsync();
        // Written while the output is read: a program may print before it reads, or never read.
        Task writeStdin = WriteAndClose(process.StandardInput.BaseStream, stdin);
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            bool printed = Task.WaitAll([readStdout, readStderr], TimeSpan.FromSeconds(5));
            throw new TimeoutException($"{Describe(start)} did not finish in {timeout} and was killed with its children" +
                (printed ? $"; it printed\nstdout: {Utf8.GetString(stdout.ToArray())}\nstderr: {readStderr.Result}" : ""));
        }
        TimeSpan remaining = timeout - elapsed.Elapsed;
        if (!Task.WaitAll([readStdout, readStderr, writeStdin], remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero))
        {
            throw new TimeoutException($"{Describe(start)} exited with {process.ExitCode}, but {timeout} after it started a process " +
                "it left behind still holds its standard input, output or error open");
        }
        return (process.ExitCode, stdout.ToArray(), readStderr.Result);
    }

    private static async Task WriteAndClose(Stream input, byte[]? bytes)
    {
        try
        {
            await using (input)
            {
                if (bytes is not null)
                    await input.WriteAsync(bytes);
            }
        }
        catch (IOException)
        {
            // The program exited without reading all of its input (a broken pipe); its exit status
            // and output say what happened.
        }
    }

    private static string Describe(ProcessStartInfo start) => Describe(start.FileName, start.ArgumentList);

    /// <summary>The command as a shell would take it, for messages.</summary>
    private static string Describe(string file, IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Prepend(file).Select(word =>
            word.Length > 0 && !word.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"') ? word : "'" + word.Replace("'", "'\\''") + "'"));
}
