using System.Globalization;
using Xar.Archive;

namespace Xar.Runtime;

/// <summary>
/// How a Python archive starts (docs/python-apps.md §3): the launcher executes the interpreter
/// itself, isolated from the host, with a one-line program that imports the archive's bootstrap —
/// no shell script, no helper process. An archive is a Python archive when its header has
/// XAR_PYTHON; XAREXEC_TARGET then names the script the original runtime would run instead.
/// </summary>
internal static class PythonStart
{
    /// <summary>
    /// The interpreter and its argv for <paramref name="arguments"/>, or null when the archive is
    /// not a Python archive.
    /// </summary>
    /// <exception cref="XarRuntimeException">XAR_PYTHON is malformed (<see cref="XarExitCode.BadArchive"/>), or no such interpreter is installed (<see cref="XarExitCode.TargetNotFound"/>).</exception>
    public static (string Program, string[] Argv)? Command(XarHeader header, IReadOnlyList<string> arguments, string? searchPath, string archivePath)
    {
        string? python = header[XarHeaderKeys.Python];
        if (python is null)
            return null;
        (int major, int minor) = ParseVersion(python, archivePath);
        string versionedName = $"python{major.ToString(CultureInfo.InvariantCulture)}.{minor.ToString(CultureInfo.InvariantCulture)}";

        // Candidates are chosen by name, never by starting them (a version probe would cost an
        // interpreter start on every run). A recorded name that does not say the version (archives
        // of older builders: /usr/bin/python3) comes after the pythonX.Y beside it, and the
        // bootstrap refuses the interpreter if it turns out to be another version.
        string? built = header[XarHeaderKeys.PythonInterpreter];
        var recorded = new List<string>(2);
        if (built is not null)
        {
            int slash = built.LastIndexOf('/');
            if (slash >= 0 && built[(slash + 1)..] != versionedName)
                recorded.Add(built[..(slash + 1)] + versionedName);
            recorded.Add(built);
        }
        string? interpreter = recorded.Find(ProgramRunner.IsExecutableFile) ?? ProgramRunner.Find(versionedName, searchPath);
        if (interpreter is null)
        {
            string abi = header[XarHeaderKeys.PythonAbi] is { } tag ? $" ({tag})" : "";
            string tried = string.Concat(recorded.Select(path => path + ", then ")) + $"{versionedName} on PATH ({searchPath})";
            throw new XarRuntimeException(XarExitCode.TargetNotFound, archivePath, $"needs {python}{abi}; tried {tried}");
        }

        string[] isolation = PythonLaunch.IsolationFlags(major, inheritSite: header[XarHeaderKeys.PythonInheritSite] == "1");
        return (interpreter, [interpreter, .. isolation, "-c", PythonLaunch.BootCommand, .. arguments]);
    }

    /// <summary>"cpython-3.11" → (3, 11).</summary>
    private static (int Major, int Minor) ParseVersion(string python, string archivePath)
    {
        int dash = python.LastIndexOf('-');
        string[] parts = python[(dash + 1)..].Split('.');
        if (dash <= 0 || parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
            throw new XarRuntimeException(XarExitCode.BadArchive, archivePath,
                $"XAR_PYTHON \"{python}\" is not IMPLEMENTATION-MAJOR.MINOR (e.g. cpython-3.11)");
        return (major, minor);
    }
}
