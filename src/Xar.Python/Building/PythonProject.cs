using System.Diagnostics;
using System.Text;
using Tomlyn.Model;
using Xar.Python.Standards;

namespace Xar.Python.Building;

/// <summary>
/// A project directory (pyproject.toml, setup.cfg or setup.py): its distribution name, its
/// <c>[tool.xar]</c> defaults, and its wheels plus all its dependencies' wheels, built by the
/// target interpreter's pip (PEP 517), so offline and hash-checked builds work as pip does them.
/// </summary>
public sealed class PythonProject
{
    private PythonProject(string directory, string name, TomlFields settings)
    {
        Directory = directory;
        Name = name;
        Settings = settings;
    }

    public string Directory { get; }
    public string Name { get; }

    /// <summary>The <c>[tool.xar]</c> table, keys as option names on the command line without dashes (<c>inherit_site</c> read as <c>inherit-site</c>).</summary>
    public TomlFields Settings { get; }

    private static readonly string[] ProjectFiles = ["pyproject.toml", "setup.py", "setup.cfg"];

    /// <summary>Whether <paramref name="path"/> is a directory with a pyproject.toml, setup.py or setup.cfg.</summary>
    public static bool IsProjectDirectory(string path) => ProjectFiles.Any(f => File.Exists(Path.Combine(path, f)));

    /// <summary>
    /// Reads pyproject.toml here (bad TOML: <see cref="InvalidTomlException"/> naming the file,
    /// line and column); only a project whose name is not in its <c>[project]</c> table asks
    /// <paramref name="interpreter"/> for the name setup.cfg or setup.py give.
    /// </summary>
    public static PythonProject Read(string directory, string interpreter)
    {
        string full = Path.GetFullPath(directory);
        if (!IsProjectDirectory(full))
            throw new PythonBuildException($"{directory}: not a Python project (no pyproject.toml, setup.py or setup.cfg)");
        string? name = null;
        var tool = new TomlTable();
        string pyproject = Path.Combine(full, "pyproject.toml");
        if (File.Exists(pyproject))
        {
            var document = TomlFile.Read(pyproject);
            name = document.Table("project")?.String("name");
            if (document.Table("tool")?.Table("xar") is { } xar)
                foreach (string key in xar.Keys)
                    tool[key.Replace('_', '-')] = xar.Value(key)!;
        }
        if (string.IsNullOrWhiteSpace(name) && !File.Exists(Path.Combine(full, "setup.cfg")) && !File.Exists(Path.Combine(full, "setup.py")))
            throw new PythonBuildException($"{pyproject}: the project has no name ([project] name)");
        if (string.IsNullOrWhiteSpace(name))
        {
            var (status, output, errors) = RunPython(interpreter, ["-I", "-c", PythonResources.Read("project_info.py"), full], full);
            if (status != 0)
                throw new PythonBuildException($"{directory}: cannot read the project's name with {interpreter}: {LastLine(errors)}");
            name = output.Trim();
        }
        if (string.IsNullOrWhiteSpace(name))
            throw new PythonBuildException($"{directory}: the project has no name ([project] name in pyproject.toml, or setup.cfg/setup.py metadata)");
        return new PythonProject(full, name, new TomlFields(tool, pyproject, "tool.xar"));
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
