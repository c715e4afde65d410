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

    public static PythonProject Read(string directory, string interpreter)
    {
        string full = Path.GetFullPath(directory);
        if (!new[] { "pyproject.toml", "setup.py", "setup.cfg" }.Any(f => File.Exists(Path.Combine(full, f))))
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
        {
            string detail = LastLine(errors.Length > 0 ? errors : output);
            throw new PythonBuildException($"{Directory}: pip wheel failed (exit {status}): {detail}");
        }
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no output)";

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
