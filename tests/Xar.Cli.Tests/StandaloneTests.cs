using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// `xar build --standalone` (docs/python-apps.md §6): the archive carries the build's interpreter,
/// standard library and lib-dynload, and runs with the host's interpreter out of reach.
/// </summary>
public sealed class StandaloneTests : IDisposable
{
    private const string Report = """
        import json, os, sys, _decimal
        def main():
            root = os.environ["XAR_MOUNT"]
            for name, path in [("executable", sys.executable), ("prefix", sys.prefix), ("os", os.__file__),
                               ("json", json.__file__), ("_decimal", _decimal.__file__)]:
                print(name, path.replace(root, "<root>", 1))
            print("json loaded by", type(json.__spec__.loader).__name__)
            print("run mode", os.environ["XAR_RUN_MODE"])
        """;

    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private string Wheels() => Path.GetDirectoryName(new TestWheel
    {
        Name = "report",
        Files = new Dictionary<string, string> { ["report.py"] = Report },
        EntryPoints = "[console_scripts]\nreport = report:main\n",
    }.WriteTo(_workspace.Combine("wheels")))!;

    /// <summary>
    /// Runs the archive in a private mount namespace where <paramref name="hidden"/> (the
    /// interpreter's installation) are empty directories; a mount made there
    /// is detached there before it ends (lazily: the read-ahead of a fresh mount may still be reading).
    /// </summary>
    private RunResult LaunchWithout(string archive, string[] hidden, bool extract)
    {
        string empty = _workspace.Combine("empty");
        Directory.CreateDirectory(empty);
        const string Script = """
            set -e
            archive=$1 launcher=$2 empty=$3
            shift 3
            for directory in "$@"; do mount --bind "$empty" "$directory"; done
            set +e
            "$archive"
            status=$?
            [ "$XAR_MODE" = extract ] || fusermount3 -u -z "$("$launcher" -n "$archive")"
            exit $status
            """;
        var environment = new Dictionary<string, string?> { ["XAR_MODE"] = extract ? "extract" : "mount", ["XDG_CACHE_HOME"] = _workspace.Cache };
        return Run.Program("unshare", ["-m", "sh", "-c", Script, "sh", archive, Launcher.Path, empty, .. hidden], environment, cleanEnvironment: true, workingDirectory: "/");
    }

    public static TheoryData<string> Sources => new() { "debian-3.11", "pyenv-3.8", "pyenv-3.13", "venv-of-pyenv-3.11" };

    [Theory]
    [MemberData(nameof(Sources))]
    public void Runs_mounted_and_extracted_with_the_hosts_interpreter_out_of_reach_from_the_tree(string interpreter)
    {
        string wheels = Wheels();
        string[] build = ["--wheels", wheels, "report", "--standalone", "--compression", "lz4"];
        string pyenv38 = Support.Interpreters.PyenvPrefix("3.8"), pyenv313 = Support.Interpreters.PyenvPrefix("3.13");
        (string[] source, string series, string[] hidden) = interpreter switch
        {
            "debian-3.11" => (new[] { "--python", "/usr/bin/python3.11" }, "3.11", new[] { "/usr/lib/python3.11" }),
            "pyenv-3.8" => (["--python", pyenv38 + "/bin/python3.8"], "3.8", [pyenv38]),
            "pyenv-3.13" => (["--python", pyenv313 + "/bin/python3.13"], "3.13", [pyenv313]),
            _ => (["--from-env", Venv(Support.Interpreters.Pyenv311 + "/bin/python3.11")], "3.11", [_workspace.Combine("venv"), Support.Interpreters.Pyenv311]),
        };
        string archive = XarTool.Build(_workspace.Combine(interpreter + ".xar"), [.. build, .. source]);

        RunResult mounted = LaunchWithout(archive, hidden, extract: false);
        RunResult extracted = LaunchWithout(archive, hidden, extract: true);

        string expected = $"""
            executable <root>/__xar__/bin/python
            prefix <root>/__xar__/python
            os <root>/__xar__/python/lib/python{series}/os.py
            json <root>/__xar__/python/lib/python{series}/json/__init__.py
            _decimal <root>/__xar__/python/lib/python{series}/lib-dynload/_decimal.{Suffix(series)}

            """.Replace("\r", "");
        string[] standardLibrary = XarTool.Run("ls", archive, $"__xar__/python/lib/python{series}").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        standardLibrary.Should().Contain(["os.py", "json", "lib-dynload"]).And.NotContain(["site-packages", "test"])
            .And.NotContain(name => name.StartsWith("config-"), "build configuration and test suites are left out");
        // The code is in the bundle once; pycs only for what the interpreter imports before the bootstrap's finder.
        XarTool.Run("ls", archive, $"__xar__/python/lib/python{series}/encodings/__pycache__").Stdout.Should().Contain("utf_8.");
        XarTool.Run("ls", archive, $"__xar__/python/lib/python{series}/json").Stdout.Should().NotContain("__pycache__");
        mounted.Should().Be(new RunResult(0, expected + "json loaded by BundledSourceLoader\nrun mode mount\n", ""));
        extracted.Should().Be(new RunResult(0, expected + "json loaded by BundledSourceLoader\nrun mode extract\n", ""));
    }

    private string Venv(string python)
    {
        Run.Checked(python, ["-m", "venv", "--without-pip", _workspace.Combine("venv")]);
        return _workspace.Combine("venv");
    }

    private static string Suffix(string series) => $"cpython-{series.Replace(".", "")}-x86_64-linux-gnu.so";

    /// <summary>
    /// pyenv's interpreter, libpython and lib-dynload name the build's <c>PREFIX/lib</c> in DT_RUNPATH;
    /// in the image they search only the image: run with a decoy libpython and libm in that directory
    /// (a bind mount in a private namespace), the loader tries no file outside the tree and glibc's
    /// directories and loads no decoy (seen failing with the build's RUNPATH kept: it tried the decoy libm).
    /// </summary>
    [Fact]
    public void The_interpreter_and_its_libraries_search_the_image_not_the_build_hosts_library_directory()
    {
        string python = Support.Interpreters.Pyenv311 + "/bin/python3.11";
        string runpath = Xar.Archive.Elf.ElfObject.Read(python).Runpath!;
        Directory.Exists(runpath).Should().BeTrue("pyenv links its interpreter with an absolute RUNPATH");
        string archive = XarTool.Build(_workspace.Combine("confined.xar"), "--wheels", Wheels(), "report", "--standalone", "--python", python, "--compression", "lz4");
        string decoys = _workspace.Combine("decoys");
        Directory.CreateDirectory(decoys);
        File.WriteAllText(_workspace.Combine("decoy.c"), "#include <unistd.h>\n__attribute__((constructor)) static void decoy(void) { write(2, \"decoy loaded\\n\", 13); _exit(99); }\n");
        Run.Checked("gcc", ["-shared", "-fPIC", "-o", Path.Combine(decoys, "libpython3.11.so.1.0"), _workspace.Combine("decoy.c")]);
        File.Copy(Path.Combine(decoys, "libpython3.11.so.1.0"), Path.Combine(decoys, "libm.so.6"));
        const string Script = """
            set -e
            archive=$1 launcher=$2 decoys=$3 runpath=$4
            mount --bind "$decoys" "$runpath"
            "$launcher" -n "$archive"
            set +e
            LD_DEBUG=libs "$archive"
            status=$?
            fusermount3 -u -z "$("$launcher" -n "$archive")"
            exit $status
            """;
        var environment = new Dictionary<string, string?> { ["XAR_MODE"] = "mount", ["XDG_CACHE_HOME"] = _workspace.Cache };
        RunResult result = Run.Program("unshare", ["-m", "sh", "-c", Script, "sh", archive, Launcher.Path, decoys, runpath], environment, cleanEnvironment: true, workingDirectory: "/");

        result.ExitCode.Should().Be(0, result.ToString());
        string mountPath = result.Stdout.Split('\n')[0];
        result.Stdout.Should().StartWith($"{mountPath}\nexecutable <root>/__xar__/bin/python\n");
        List<string> tried = [.. result.Stderr.Split('\n').Where(line => line.Contains("trying file=")).Select(line => line[(line.IndexOf("trying file=", StringComparison.Ordinal) + 12)..].Trim())];
        tried.Should().Contain(file => file.StartsWith(mountPath + "/", StringComparison.Ordinal), "LD_DEBUG=libs shows where the loader looked");
        tried.Should().OnlyContain(file => file.StartsWith(mountPath + "/", StringComparison.Ordinal) || file.StartsWith("/lib/", StringComparison.Ordinal)
            || file.StartsWith("/usr/lib/", StringComparison.Ordinal) || file.StartsWith("/lib64/", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_standalone_the_archive_starts_the_hosts_interpreter_and_carries_none()
    {
        string archive = XarTool.Build(_workspace.Combine("host.xar"), "--wheels", Wheels(), "report", "--python", "/usr/bin/python3.11", "--compression", "lz4");

        RunResult result = _workspace.Launch(archive);
        RunResult listing = XarTool.Run("ls", archive, "__xar__");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().StartWith("executable /usr/bin/python3.11\nprefix /usr\nos /usr/lib/python3.11/os.py\n");
        listing.Stdout.Should().NotContain("python");
        using var opened = Xar.Archive.XarArchive.Open(archive);
        opened.Header[Xar.Archive.XarHeaderKeys.StartProgram].Should().Be("/usr/bin/python3.11 python3.11");
    }
}
