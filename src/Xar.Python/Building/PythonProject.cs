using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Xar.Python.Building;

/// <summary>
/// A project directory (pyproject.toml, setup.cfg or setup.py): its distribution name, its
/// <c>[tool.xar]</c> defaults, and its wheels plus all its dependencies' wheels, built by the
/// target interpreter's pip (PEP 517), so offline and hash-checked builds work as pip does them.
/// </summary>
public sealed class PythonProject
{
    private PythonProject(string directory, string name, IReadOnlyDictionary<string, JsonElement> settings)
    {
        Directory = directory;
        Name = name;
        Settings = settings;
    }

    public string Directory { get; }
    public string Name { get; }

    /// <summary>The <c>[tool.xar]</c> table: option name (as on the command line, without dashes) → value.</summary>
    public IReadOnlyDictionary<string, JsonElement> Settings { get; }

    private static readonly string[] ProjectFiles = ["pyproject.toml", "setup.py", "setup.cfg"];

    /// <summary>Whether <paramref name="path"/> is a directory with a pyproject.toml, setup.py or setup.cfg.</summary>
    public static bool IsProjectDirectory(string path) => ProjectFiles.Any(f => File.Exists(Path.Combine(path, f)));

    public static PythonProject Read(string directory, string interpreter)
    {
        string full = Path.GetFullPath(directory);
        if (!IsProjectDirectory(full))
            throw new PythonBuildException($"{directory}: not a Python project (no pyproject.toml, setup.py or setup.cfg)");
        var (status, output, errors) = RunPython(interpreter, ["-I", "-c", PythonResources.Read("project_info.py"), full], full);
        if (status != 0)
            throw new PythonBuildException($"{directory}: cannot read the project with {interpreter}: {LastLine(errors)}");
        using var json = JsonDocument.Parse(output);
        string? name = json.RootElement.GetProperty("name").ValueKind == JsonValueKind.String ? json.RootElement.GetProperty("name").GetString() : null;
        if (string.IsNullOrWhiteSpace(name))
            throw new PythonBuildException($"{directory}: the project has no name ([project] name in pyproject.toml, or setup.cfg/setup.py metadata)");
        var settings = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in json.RootElement.GetProperty("tool").EnumerateObject())
            settings[property.Name.Replace('_', '-')] = property.Value.Clone();
        return new PythonProject(full, name, settings);
    }

    /// <summary>
    /// Runs <c>python -m pip wheel</c> for the project into <paramref name="wheelDirectory"/>, with
    /// pip's own options passed through (--requirement, --constraint, --find-links, --no-index,
    /// --index-url, --require-hashes …). pip's temporary files (build environments, unpacked
    /// sources) go to a directory inside <paramref name="wheelDirectory"/>, so that deleting it
    /// leaves nothing behind, also when xar is interrupted and pip killed before it cleaned up.
    /// </summary>
    public void BuildWheels(string interpreter, string wheelDirectory, IReadOnlyList<string> pipOptions, Action<string>? progress = null)
    {
        var arguments = new List<string> { "-m", "pip", "wheel", "--disable-pip-version-check", "--no-input", "--wheel-dir", wheelDirectory };
        arguments.AddRange(pipOptions);
        arguments.Add(Directory);
        string pipTemporary = System.IO.Directory.CreateDirectory(Path.Combine(wheelDirectory, "pip-tmp")).FullName;
        var (status, output, errors) = RunPython(interpreter, arguments, Directory, progress, pipTemporary);
        if (status != 0)
            throw new PythonBuildException($"{Directory}: pip wheel failed (exit {status}){PipFailureCause(errors, output)}");
    }

    /// <summary>
    /// The lines that say why pip failed, on one line. pip ends a failed build with its own
    /// boilerplate ("note: This error originates from a subprocess…", "╰─> See above for output."),
    /// the real cause being the ERROR:/error: lines of the subprocess it quotes above; the stage
    /// ("× pip subprocess to install build dependencies did not run successfully.") says where.
    /// </summary>
    internal static string PipFailureCause(string errors, string output)
    {
        const int MaxCauses = 3;
        string[] lines = (errors + "\n" + output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? stage = lines.Where(l => l.StartsWith("× ", StringComparison.Ordinal)).Select(l => l[2..].TrimEnd('.')).LastOrDefault();
        var causes = lines
            .Where(l => (l.StartsWith("ERROR:", StringComparison.Ordinal) || l.StartsWith("error:", StringComparison.Ordinal))
                        && l != "error: subprocess-exited-with-error")
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var text = new StringBuilder();
        if (stage is not null)
            text.Append(" in: ").Append(stage);
        if (causes.Count > 0)
        {
            text.Append(": ").AppendJoin("; ", causes.TakeLast(MaxCauses));
        }
        else
        {
            string? last = lines.LastOrDefault(l => !IsPipBoilerplate(l));
            text.Append(": ").Append(last ?? "(no output)");
        }
        if (lines.Any(l => l.Contains("(from versions: none)", StringComparison.Ordinal) || l.Contains("NewConnectionError", StringComparison.Ordinal)))
            text.Append(" (no package index reachable? give the wheels with --find-links DIR, and --no-index)");
        return text.ToString();
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no output)";

    private static bool IsPipBoilerplate(string line) =>
        line.StartsWith("note:", StringComparison.Ordinal) || line.StartsWith("hint:", StringComparison.Ordinal)
        || line.StartsWith('×') || line.StartsWith('│') || line.StartsWith('╰') || line == "[end of output]"
        || line == "error: subprocess-exited-with-error";

    private static (int Status, string Output, string Errors) RunPython(string interpreter, IEnumerable<string> arguments, string workingDirectory,
        Action<string>? progress = null, string? temporaryDirectory = null)
    {
        var start = new ProcessStartInfo(interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        if (temporaryDirectory is not null) start.Environment["TMPDIR"] = temporaryDirectory;
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PythonBuildException($"{interpreter}: cannot run the target interpreter ({e.Message})");
        }
        using (process)
        using (ChildProcesses.EndOnInterrupt(process))
        {
            var errors = new StringBuilder();
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
            process.BeginErrorReadLine();
            var output = new StringBuilder();
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null)
            {
                output.AppendLine(line);
                progress?.Invoke(line);
            }
            process.WaitForExit();
            lock (errors) return (process.ExitCode, output.ToString(), errors.ToString());
        }
    }
}
