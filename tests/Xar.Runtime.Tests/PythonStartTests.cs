using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>Python archives (XAR_PYTHON): the launcher starts the interpreter as docs/python-apps.md §3 says.</summary>
public sealed class PythonStartTests : IDisposable
{
    /// <summary>Debian 12's python3 (scripts/lib/prerequisites.sh installs it).</summary>
    private const string Interpreter = "/usr/bin/python3.11";

    /// <summary>A stand-in for xar_bootstrap.py that reports what it was started with.</summary>
    private const string Bootstrap =
        "import os, sys\n" +
        "print('argv', sys.argv)\n" +
        "print('isolated', sys.flags.isolated, 'no_site', sys.flags.no_site)\n" +
        "print('executable', sys.executable)\n" +
        "print('mount', os.environ['XAR_MOUNT'] == os.path.dirname(os.path.dirname(__file__)))\n" +
        "sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0)\n";

    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private string PythonArchive(XarLayout layout, string? interpreter) => _sandbox.Archive(TargetKind.Shell, layout, "__xar__/run.sh",
        new Dictionary<string, string> { ["__xar__/xar_bootstrap.py"] = Bootstrap, ["__xar__/run.sh"] = "exit 99\n" },
        interpreter is null
            ? new Dictionary<string, string> { [XarHeaderKeys.Python] = "cpython-3.11", [XarHeaderKeys.PythonAbi] = "cp311" }
            : new Dictionary<string, string> { [XarHeaderKeys.Python] = "cpython-3.11", [XarHeaderKeys.PythonAbi] = "cp311", [XarHeaderKeys.PythonInterpreter] = interpreter });

    [Theory]
    [InlineData(XarLayout.Xarexec)]
    [InlineData(XarLayout.Self)]
    public void The_interpreter_of_the_header_runs_the_bootstrap_isolated_with_the_arguments(XarLayout layout)
    {
        string archive = PythonArchive(layout, Interpreter);

        RunResult result = _sandbox.Launch(archive, ["a b", "it's", "7"]);

        result.ExitCode.Should().Be(7, result.ToString());
        result.Stdout.Should().Be(
            "argv ['-c', 'a b', \"it's\", '7']\nisolated 1 no_site 1\nexecutable /usr/bin/python3.11\nmount True\n");
    }

    [Fact]
    public void Without_the_built_interpreter_pythonX_Y_is_looked_up_on_PATH()
    {
        string archive = PythonArchive(XarLayout.Xarexec, "/nonexistent/python3.11");
        string bin = Path.Combine(_sandbox.Root, "bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "python3.11"), Interpreter);

        RunResult result = _sandbox.Launch(archive, extraEnvironment: new Dictionary<string, string?> { ["PATH"] = bin });

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("isolated 1 no_site 1\n");
    }

    [Fact]
    public void A_recorded_name_without_the_version_comes_after_the_pythonX_Y_beside_it()
    {
        // Archives of older builders record /usr/bin/python3, which may have become another version since.
        string bin = Path.Combine(_sandbox.Root, "bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "python3"), Interpreter);
        File.CreateSymbolicLink(Path.Combine(bin, "python3.11"), Interpreter);
        string archive = PythonArchive(XarLayout.Xarexec, Path.Combine(bin, "python3"));

        RunResult result = _sandbox.Launch(archive);
        File.Delete(Path.Combine(bin, "python3.11"));
        RunResult withoutVersioned = _sandbox.Launch(archive);

        result.Stdout.Should().Contain($"executable {bin}/python3.11\n", result.ToString());
        withoutVersioned.Stdout.Should().Contain($"executable {bin}/python3\n", withoutVersioned.ToString());
    }

    [Fact]
    public void No_suitable_interpreter_is_one_line_naming_what_the_archive_needs_and_where_it_looked()
    {
        string archive = PythonArchive(XarLayout.Xarexec, interpreter: null);
        string empty = Path.Combine(_sandbox.Root, "empty");
        Directory.CreateDirectory(empty);

        RunResult result = _sandbox.Launch(archive, extraEnvironment: new Dictionary<string, string?> { ["PATH"] = empty });

        result.ExitCode.Should().Be((int)XarExitCode.TargetNotFound);
        result.Stderr.Should().Be($"xarexec: {archive}: needs cpython-3.11 (cp311); tried python3.11 on PATH ({empty})\n");
    }
}
