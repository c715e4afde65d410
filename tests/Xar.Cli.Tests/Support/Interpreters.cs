namespace Xar.Cli.Tests.Support;

/// <summary>
/// The interpreters and installed environments of this machine the tests take real software from.
/// A missing one fails the tests that need it with a message saying so; nothing is skipped.
/// </summary>
internal static class Interpreters
{
    /// <summary>The interpreter the examples are built with (scripts/lib/find-python: $XAR_PYTHON, pyenv's 3.11, python3).</summary>
    public static string ExamplePython { get; } = Script("find-python");

    /// <summary>The example interpreter's "major.minor".</summary>
    public static string ExampleSeries { get; } = Run.Checked(ExamplePython, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).Trim();

    /// <summary>The file name ending of the example interpreter's extension modules (".cpython-311-x86_64-linux-gnu.so").</summary>
    public static string ExampleExtensionSuffix { get; } = Run.Checked(ExamplePython, ["-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"]).Trim();

    /// <summary>A directory with setuptools and wheel wheels for offline builds (scripts/lib/find-wheeldata).</summary>
    public static string WheelData { get; } = Script("find-wheeldata", ExamplePython);

    /// <summary>The pyenv CPython 3.11 prefix: flask, Pygments, PyYAML, orjson, cryptography… are installed in it.</summary>
    public static string Pyenv311 { get; } = PyenvPrefix("3.11");

    public static string Pyenv312 { get; } = PyenvPrefix("3.12");

    public static string Pyenv27 { get; } = PyenvPrefix("2.7");

    public static string Pyenv38 => PyenvPrefix("3.8");

    public static string Pyenv313 => PyenvPrefix("3.13");

    /// <summary>
    /// The Python that ships with the Google Cloud SDK: its site-packages holds manylinux wheels
    /// installed with their auditwheel-bundled libraries (cffi.libs, google_crc32c.libs).
    /// </summary>
    public const string CloudSdkPython = "/usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3";

    private static string Script(string name, params string[] arguments) =>
        Run.Checked(System.IO.Path.Combine(Repository.Root, "scripts/lib", name), arguments).Trim();

    /// <summary>The newest pyenv CPython of <paramref name="series"/> ("3.8").</summary>
    public static string PyenvPrefix(string series)
    {
        string versions = System.IO.Path.Combine(Environment.GetEnvironmentVariable("PYENV_ROOT") is { Length: > 0 } root ? root : "/root/.pyenv", "versions");
        string? prefix = Directory.Exists(versions)
            ? Directory.GetDirectories(versions, series + ".*").Where(d => File.Exists(System.IO.Path.Combine(d, "bin", "python" + series))).Order().LastOrDefault()
            : null;
        return prefix ?? throw new InvalidOperationException($"these tests need pyenv's CPython {series} under {versions}");
    }

    public static string Require(string path) =>
        File.Exists(path) || Directory.Exists(path) ? path : throw new InvalidOperationException($"this test needs {path} on this machine");
}
