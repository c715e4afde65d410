using System.Diagnostics;
using System.Text;
using Xar.Archive;
using Xar.Python.Building;
using Xar.Python.Standards;
using Xar.SquashFs.Reading;
using Xar.SquashFs.Writing;

namespace Xar.Python.Tests.Building;

/// <summary>
/// A hand-made application through the builder, run the way the original runtime runs an
/// archive: <c>/bin/sh -e TREE/__xar__/run.sh ARCHIVE ARGS…</c>, from a clean environment.
/// </summary>
public sealed class PythonArchiveBuilderTests : IDisposable
{
    private const string Python311 = "/root/.pyenv/versions/3.11.7/bin/python3.11";
    private static readonly Lazy<InterpreterProbe> Probe = new(() => InterpreterProbe.Run(Python311));
    private readonly string _temp = Directory.CreateTempSubdirectory("xar-pyapp-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static PythonApplication HelloApplication() => new()
    {
        RootDistribution = "hello-app",
        Scripts =
        [
            new EntryPoint("console_scripts", "hello", "hello_app.cli", "main", []),
            new EntryPoint("console_scripts", "hello-status", "hello_app.cli", "status", []),
        ],
        Files =
        [
            File("lib/python/hello_app/__init__.py", "GREETING = 'hello'\n"),
            File("lib/python/hello_app/cli.py", """
                import sys, os
                from hello_app import GREETING
                def main():
                    print(GREETING, sys.argv[0].rsplit('/', 1)[-1], sys.argv[1:])
                    print('isolated:', [p for p in sys.path if 'site-packages' in p])
                def status():
                    return int(sys.argv[1]) if sys.argv[1:] and sys.argv[1].isdigit() else sys.argv[1]
                """),
            File("lib/python/hello_app-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: hello-app\nVersion: 1.0\n"),
        ],
    };

    private static ImageEntry File(string path, string text) =>
        ImageEntry.File(path, FileContent.FromBytes(Encoding.UTF8.GetBytes(text.Replace("\r", ""))), 0b110_100_100, 1_700_000_000);

    private (string Archive, string Tree) Build(PythonApplication app, string? entry = null, BytecodeMode bytecode = BytecodeMode.Compiled, bool inheritSite = false)
    {
        string archive = Path.Combine(_temp, "app.xar");
        PythonArchiveBuilder.Build(app, new PythonArchiveOptions
        {
            Interpreter = Probe.Value, Entry = entry, Bytecode = bytecode, Layout = XarLayout.Xarexec, InheritSite = inheritSite,
        }, archive);
        string tree = Path.Combine(_temp, "tree");
        using var opened = XarArchive.Open(archive);
        using var image = SquashFsImage.Open(opened.Image.Handle, opened.Image.Offset, ownsHandle: false);
        image.ExtractTo(tree);
        return (archive, tree);
    }

    [Fact]
    public void TheDefaultEntryRunsIsolatedWithTheInvokedName()
    {
        var app = HelloApplication() with { Scripts = [HelloApplication().Scripts[0]] };
        var (archive, tree) = Build(app);

        var (status, output, _) = RunOriginalWay(tree, archive, ["a b", "c"]);

        status.Should().Be(0);
        output.Should().Be("hello app.xar ['a b', 'c']\nisolated: []\n");
    }

    [Theory]
    [InlineData("0", 0, "")]
    [InlineData("42", 42, "")]
    [InlineData("oops", 1, "oops\n")]
    public void TheFunctionsReturnValueIsTheExitStatus(string argument, int expectedStatus, string expectedError)
    {
        var (archive, tree) = Build(HelloApplication(), entry: "hello-status");

        var (status, _, errors) = RunOriginalWay(tree, archive, [argument]);

        status.Should().Be(expectedStatus);
        errors.Should().Be(expectedError);
    }

    [Fact]
    public void XarEntryPicksAnotherScript()
    {
        var (archive, tree) = Build(HelloApplication(), entry: "hello");

        var (status, _, _) = RunOriginalWay(tree, archive, ["7"], ("XAR_ENTRY", "hello-status"));

        status.Should().Be(7);
    }

    [Fact]
    public void ImportsFromTheArchiveCompileNothing()
    {
        var (archive, tree) = Build(HelloApplication(), entry: "hello");

        var (_, _, trace) = RunOriginalWay(tree, archive, [], ("XAR_VERBOSE_PYTHON", "1"));

        trace.Should().Contain($"code object from '{tree}/__xar__/bytecode.bundle:hello_app/cli.py'");
        trace.Should().NotMatchRegex("code object from [^']");
    }

    [Fact]
    public void InheritSiteOptsIntoTheHostsSitePackagesAfterTheArchivesOwn()
    {
        var (archive, tree) = Build(HelloApplication(), entry: "hello", inheritSite: true);

        var (status, output, _) = RunOriginalWay(tree, archive, []);

        status.Should().Be(0);
        output.Should().Contain("isolated: ['/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages']");
        using var opened = XarArchive.Open(archive);
        opened.Header[XarHeaderKeys.PythonInheritSite].Should().Be("1", "the launcher reads the choice from the header");
    }

    [Fact]
    public void SeveralScriptsWithoutAChoiceIsAClearError()
    {
        var act = () => Build(HelloApplication());
        act.Should().Throw<PythonBuildException>().WithMessage("hello-app has several console scripts (hello, hello-status): pick one with --entry");
    }

    [Fact]
    public void ModuleFunctionEntriesWork()
    {
        var (archive, tree) = Build(HelloApplication(), entry: "hello_app.cli:status");
        RunOriginalWay(tree, archive, ["3"]).Status.Should().Be(3);
    }

    /// <summary>
    /// An application that exercises what the bootstrap's bundle finder must do as CPython's own
    /// FileFinder does: packages, a namespace package, a module that does not compile, a
    /// directory with a symlink (left to FileFinder), resources, pkgutil, inspect, tracebacks.
    /// </summary>
    private static PythonApplication ImportProbeApplication() => new()
    {
        RootDistribution = "probe-app",
        Files =
        [
            File("lib/python/probe/__init__.py", ""),
            File("lib/python/probe/check.py", """
                import importlib, importlib.resources, inspect, os, pkgutil, sys, traceback
                def main():
                    root = os.environ['XAR_MOUNT']
                    import probe.sub.leaf, nspkg.part, probe.linked, probe.plugins
                    print(type(probe.sub.leaf.__loader__).__name__)
                    print(probe.sub.leaf.where().replace(root, 'ROOT'), probe.sub.leaf.__cached__.replace(root, 'ROOT'))
                    print(importlib.resources.files('probe').joinpath('data.txt').read_text().strip())
                    print(sorted(m.name for m in pkgutil.iter_modules(probe.plugins.__path__)))
                    print(inspect.getsource(probe.sub.leaf.where).strip())
                    print([p.replace(root, 'ROOT') for p in nspkg.__path__], nspkg.part.NAME)
                    print(probe.linked.where().replace(root, 'ROOT'))
                    try:
                        import broken
                    except SyntaxError as e:
                        print('SyntaxError in', e.filename.replace(root, 'ROOT'))
                    try:
                        probe.sub.leaf.fail()
                    except ValueError:
                        print(traceback.format_exc().replace(root, 'ROOT').splitlines()[-3:])
                    import probe.missing
                """),
            File("lib/python/probe/data.txt", "resource text\n"),
            File("lib/python/probe/sub/__init__.py", "VALUE = 'sub'\n"),
            File("lib/python/probe/sub/leaf.py", "def where():\n    return __file__\ndef fail():\n    raise ValueError('from the leaf')\n"),
            File("lib/python/probe/plugins/__init__.py", ""),
            File("lib/python/probe/plugins/alpha.py", ""),
            File("lib/python/probe/plugins/beta.py", ""),
            File("lib/python/probe/plugins/notes.txt", "not a module"),
            File("lib/python/probe/linked_target.py", "def where():\n    return __file__\n"),
            ImageEntry.Symlink("lib/python/probe/linked.py", "linked_target.py", 1_700_000_000),
            File("lib/python/nspkg/part/__init__.py", "NAME = 'part'\n"),
            File("lib/python/broken.py", "print 'only Python 2'\n"),
        ],
    };

    [Fact]
    public void TheBundleFinderImportsAsCPythonsOwnFinderDoes()
    {
        var (archive, tree) = Build(ImportProbeApplication(), entry: "probe.check:main");
        string bundle = Path.Combine(tree, "__xar__/bytecode.bundle");
        System.IO.File.Move(bundle, bundle + ".aside");
        var (_, expected, expectedErrors) = RunOriginalWay(tree, archive, []);
        System.IO.File.Move(bundle + ".aside", bundle);

        var (status, output, errors) = RunOriginalWay(tree, archive, []);

        expected.Should().StartWith("SourceFileLoader\n", "the control run does not use the bundle");
        output.Should().StartWith("BundledSourceLoader\n");
        output.Should().Be(expected.Replace("SourceFileLoader", "BundledSourceLoader"));
        output.Should().Contain("ROOT/lib/python/probe/sub/leaf.py ROOT/lib/python/probe/sub/__pycache__/leaf.cpython-311.pyc\n")
            .And.Contain("resource text\n").And.Contain("['alpha', 'beta']\n").And.Contain("def where():\n    return __file__\n")
            .And.Contain("['ROOT/lib/python/nspkg'] part\n").And.Contain("ROOT/lib/python/probe/linked.py\n")
            .And.Contain("SyntaxError in ROOT/lib/python/broken.py\n").And.Contain("raise ValueError('from the leaf')");
        status.Should().Be(1);
        errors.Should().Be(expectedErrors).And.EndWith("ModuleNotFoundError: No module named 'probe.missing'\n");
    }

    /// <summary>Runs like the original xarexec_fuse: /bin/sh -e TREE/__xar__/run.sh ARCHIVE ARGS, under env -i.</summary>
    private (int Status, string Output, string Errors) RunOriginalWay(string tree, string archive, string[] arguments, params (string, string)[] environment)
    {
        var start = new ProcessStartInfo("/usr/bin/env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        start.ArgumentList.Add("-i");
        start.ArgumentList.Add("PATH=/usr/bin:/bin");
        bool verbose = false;
        foreach (var (name, value) in environment)
        {
            if (name == "XAR_VERBOSE_PYTHON") { verbose = true; continue; }
            start.ArgumentList.Add($"{name}={value}");
        }
        if (verbose)
        {
            // -v is a Python flag: run the interpreter the way run.sh would, with it added.
            start.ArgumentList.Add($"XAR_MOUNT={tree}");
            start.ArgumentList.Add($"XAR_INVOKED_NAME={archive}");
            foreach (var a in new[] { Python311, "-I", "-S", "-v", "-c", PythonLaunch.BootCommand }) start.ArgumentList.Add(a);
        }
        else
        {
            foreach (var a in new[] { "/bin/sh", "-e", $"{tree}/__xar__/run.sh", archive }) start.ArgumentList.Add(a);
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, errors.Result);
    }
}
