using Xar.Archive;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// A host-Python archive runs under the interpreter it was built for or not at all
/// (docs/python-apps.md §3): the header records a name that says the version, and the bootstrap
/// refuses another version in one line.
/// </summary>
public sealed class InterpreterCheckTests : IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private static TestWheel Version => new()
    {
        Name = "version",
        EntryPoints = "[console_scripts]\nversion = version:main\n",
        Tag = "py2.py3-none-any",
        Files = new Dictionary<string, string> { ["version.py"] = "import sys\ndef main():\n    print('%d.%d' % sys.version_info[:2])\n" },
    };

    private string Build(string python, params string[] options) =>
        XarTool.Build(_workspace.Combine("version.xar"), ["--wheels", Version.WriteTo(_workspace.Combine("wheels")), "version", "--python", python, .. options]);

    private static void Point(string link, string target)
    {
        File.Delete(link);
        File.CreateSymbolicLink(link, target);
    }

    [Fact]
    public void Built_through_an_unversioned_link_the_archive_keeps_its_version_when_the_link_moves()
    {
        string python = _workspace.Combine("bin", "python3");
        Directory.CreateDirectory(Path.GetDirectoryName(python)!);
        File.CreateSymbolicLink(python, Path.Combine(Interpreters.Pyenv311, "bin", "python3"));
        string archive = Build(python);
        Point(python, Path.Combine(Interpreters.Pyenv312, "bin", "python3"));

        var result = _workspace.Launch(archive);

        result.Should().Be(new RunResult(0, "3.11\n", ""));
        using (var opened = XarArchive.Open(archive))
            opened.Header[XarHeaderKeys.PythonInterpreter].Should().Be(Path.Combine(Interpreters.Pyenv311, "bin", "python3.11"));
    }

    [Fact]
    public void An_interpreter_whose_name_hides_another_version_is_refused_in_one_line()
    {
        // A wrapper keeps its own path as sys.executable (exec -a), so nothing resolves it to a versioned name.
        string python = _workspace.Combine("bin", "python3");
        Directory.CreateDirectory(Path.GetDirectoryName(python)!);
        void Wrap(string prefix, string name) =>
            File.WriteAllText(python, $"#!/bin/bash\nexec -a \"$0\" {Path.Combine(prefix, "bin", name)} \"$@\"\n");
        Wrap(Interpreters.Pyenv311, "python3.11");
        File.SetUnixFileMode(python, (UnixFileMode)Convert.ToInt32("755", 8));
        string archive = Build(python);
        var before = _workspace.Launch(archive);
        Wrap(Interpreters.Pyenv312, "python3.12");

        var result = _workspace.Launch(archive);

        before.Should().Be(new RunResult(0, "3.11\n", ""));
        result.Should().Be(new RunResult(127, "",
            $"xarexec: {archive}: needs cpython-3.11 (cp311), started {python} which is cpython-3.12 (cp312)\n"));
        using (var opened = XarArchive.Open(archive))
            opened.Header[XarHeaderKeys.PythonInterpreter].Should().Be(python);
    }

    [Fact]
    public void A_Python_2_7_archive_passes_the_check()
    {
        // Without bytecode: the builder compiles only for 3.7 and newer (hash-based pycs).
        string archive = Build(Path.Combine(Interpreters.Pyenv27, "bin", "python2.7"), "--bytecode", "none");

        var result = _workspace.Launch(archive);

        result.Should().Be(new RunResult(0, "2.7\n", ""));
    }
}
