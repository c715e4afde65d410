namespace Xar.Python.Standards;

/// <summary>
/// The values of the PEP 508 marker variables for one target interpreter (the <c>extra</c> variable
/// is given per evaluation instead). Build one with <see cref="FromInterpreter"/>, or by hand.
/// </summary>
public sealed record MarkerEnvironment
{
    /// <summary>The variable names, in PEP 508's order (without <c>extra</c>).</summary>
    public static IReadOnlyList<string> VariableNames { get; } =
    [
        "os_name", "sys_platform", "platform_machine", "platform_python_implementation", "platform_release",
        "platform_system", "platform_version", "python_version", "python_full_version", "implementation_name",
        "implementation_version",
    ];

    /// <summary><c>os.name</c>: "posix", "nt".</summary>
    public required string OsName { get; init; }

    /// <summary><c>sys.platform</c>: "linux", "linux2" (Python 2), "darwin", "win32".</summary>
    public required string SysPlatform { get; init; }

    /// <summary><c>platform.machine()</c>: "x86_64", "aarch64".</summary>
    public required string PlatformMachine { get; init; }

    /// <summary><c>platform.python_implementation()</c>: "CPython", "PyPy".</summary>
    public required string PlatformPythonImplementation { get; init; }

    /// <summary><c>platform.release()</c>: the kernel release on Linux.</summary>
    public required string PlatformRelease { get; init; }

    /// <summary><c>platform.system()</c>: "Linux", "Darwin", "Windows".</summary>
    public required string PlatformSystem { get; init; }

    /// <summary><c>platform.version()</c>.</summary>
    public required string PlatformVersion { get; init; }

    /// <summary>The first two parts of <c>platform.python_version_tuple()</c>: "3.11".</summary>
    public required string PythonVersion { get; init; }

    /// <summary><c>platform.python_version()</c>: "3.11.7", "3.13.0rc1".</summary>
    public required string PythonFullVersion { get; init; }

    /// <summary><c>sys.implementation.name</c>: "cpython", "pypy"; empty on Python 2.</summary>
    public required string ImplementationName { get; init; }

    /// <summary><c>sys.implementation.version</c> as PEP 508 formats it: "3.11.7", "7.3.15"; "0" on Python 2.</summary>
    public required string ImplementationVersion { get; init; }

    /// <summary>Runs <paramref name="pythonPath"/> once (see <see cref="InterpreterProbe"/>) and returns its marker values.</summary>
    public static MarkerEnvironment FromInterpreter(string pythonPath) => InterpreterProbe.Run(pythonPath).Markers;

    /// <summary>The value of a marker variable by its PEP 508 name.</summary>
    /// <exception cref="ArgumentException">Not a marker variable (or <c>extra</c>, which has no environment value).</exception>
    public string Get(string variableName) => variableName switch
    {
        "os_name" => OsName,
        "sys_platform" => SysPlatform,
        "platform_machine" => PlatformMachine,
        "platform_python_implementation" => PlatformPythonImplementation,
        "platform_release" => PlatformRelease,
        "platform_system" => PlatformSystem,
        "platform_version" => PlatformVersion,
        "python_version" => PythonVersion,
        "python_full_version" => PythonFullVersion,
        "implementation_name" => ImplementationName,
        "implementation_version" => ImplementationVersion,
        _ => throw new ArgumentException($"'{variableName}' is not a marker variable", nameof(variableName)),
    };
}
