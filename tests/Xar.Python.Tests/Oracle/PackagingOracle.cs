using System.Text;
using System.Text.Json;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// pypa/packaging itself, as vendored in the pip of a pyenv interpreter: the newest one whose
/// packaging is 22 or later (the hand-written PEP 508 parser and the modern specifier rules that
/// pip uses today; on this machine, packaging 24.1 from Python 3.13's pip). Each oracle test sends
/// its whole batch as JSON on stdin to one process and reads one JSON answer.
/// </summary>
internal static class PackagingOracle
{
    private static readonly Lazy<string> OraclePython = new(FindPython);

    public static string Python => OraclePython.Value;

    /// <summary>Runs Oracle/<paramref name="script"/> with the input the writer produces.</summary>
    public static JsonDocument Run(string script, Action<Utf8JsonWriter> writeInput) =>
        JsonDocument.Parse(PythonProcess.Run(Python, ["-E", "-s", Path.Combine(AppContext.BaseDirectory, "Oracle", script)], stdin: Json(writeInput)));

    /// <summary>Runs any interpreter with a -c program and returns its standard output.</summary>
    public static string RunProgram(string python, string program, string? stdin = null) =>
        PythonProcess.Run(python, ["-E", "-s", "-c", program], stdin: stdin);

    public static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
            write(writer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string FindPython()
    {
        foreach (var (version, python) in Pyenv.Interpreters.Reverse())
        {
            string vendored = Path.Combine(Pyenv.Root, "versions", version.ToString(), "lib", $"python{version.Major}.{version.Minor}",
                "site-packages", "pip", "_vendor", "packaging", "_parser.py");
            if (File.Exists(vendored)) return python;
        }
        throw new InvalidOperationException(
            $"The packaging oracle needs a pyenv Python whose pip vendors packaging 22 or later (Python 3.13 here) under {Pyenv.Root}/versions.");
    }
}
