using System.Text;
using Xar.Archive;
using Xar.Python.Building;
using Xar.Python.Standards;
using Xar.Python.Tests.Distributions;
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
    private readonly TempDirectory _temp = new("pyapp");

    public void Dispose() => _temp.Dispose();

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

    private (string Archive, string Tree) Build(PythonApplication app, string? entry = null, BytecodeMode bytecode = BytecodeMode.Compiled, bool inheritSite = false,
        InterpreterProbe? interpreter = null, string name = "app")
    {
        string archive = _temp.Combine($"{name}.xar");
        PythonArchiveBuilder.Build(app, new PythonArchiveOptions
        {
            Interpreter = interpreter ?? Probe.Value, Entry = entry, Bytecode = bytecode, Layout = XarLayout.Xarexec, InheritSite = inheritSite,
        }, archive);
        string tree = _temp.Combine(name == "app" ? "tree" : $"{name}-tree");
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

        trace.Should().Contain($"code object from '{tree}/__xar__/bytecode.bundle:lib/python/hello_app/cli.py'");
        trace.Should().NotMatchRegex("code object from [^']");
    }

    [Fact]
    public void EachModulesCodeIsStoredOnceInTheBundleNotAlsoAsAPyc()
    {
        var (archive, tree) = Build(HelloApplication(), entry: "hello");

        Directory.EnumerateFileSystemEntries(Path.Combine(tree, "lib/python"), "*", SearchOption.AllDirectories)
            .Should().NotContain(p => p.Contains("__pycache__") || p.EndsWith(".pyc"));
        var (status, output, trace) = RunOriginalWay(tree, archive, [], ("XAR_VERBOSE_PYTHON", "1"));
        status.Should().Be(0);
        output.Should().StartWith("hello ");
        trace.Should().Contain($"code object from '{tree}/__xar__/bytecode.bundle:lib/python/hello_app/__init__.py'");
    }

    /// <summary>The root distribution's files plus a dependency's package with test suites; the entry imports a module of each.</summary>
    private static PythonApplication AppWithTestSuites()
    {
        List<ImageEntry> own =
        [
            .. HelloApplication().Files,
            File("lib/python/hello_app/tests/test_own.py", "OWN = 1\n"),
            File("lib/python/hello_app/check.py", """
                def main():
                    import dep, dep.tests.test_dep, dep.testsuite, hello_app.tests.test_own
                    print(dep.helpers.HELP + dep.tests.test_dep.DEP + dep.testsuite.SUITE + hello_app.tests.test_own.OWN)
                """),
        ];
        return HelloApplication() with
        {
            Files =
            [
                .. own,
                File("lib/python/dep/__init__.py", "from dep.sub.testing import helpers\n"),
                File("lib/python/dep/sub/__init__.py", ""),
                File("lib/python/dep/sub/testing/__init__.py", ""),
                File("lib/python/dep/sub/testing/helpers.py", "HELP = 2\n"),
                File("lib/python/dep/tests/__init__.py", ""),
                File("lib/python/dep/tests/test_dep.py", "DEP = 3\n"),
                File("lib/python/dep/testsuite.py", "SUITE = 4\n"),
            ],
            Scripts = [new EntryPoint("console_scripts", "hello", "hello_app.check", "main", [])],
            OwnFiles = own.Select(f => f.Path).ToHashSet(),
        };
    }

    [Fact]
    public void TheApplicationsOwnCodeComesFirstInTheBundleRightAfterItsIndex()
    {
        var (_, tree) = Build(AppWithTestSuites(), entry: "hello");

        // The modules by their offset after the index: a start reads the index, then the
        // application's own code, and the first read of each decompresses a whole block.
        string order = Run.Checked(Python311, ["-c", """
            import marshal, sys
            data = open(sys.argv[1] + "/__xar__/bytecode.bundle", "rb").read()
            entries, native = marshal.loads(data[16:16 + int.from_bytes(data[12:16], "little")])
            print(" ".join(path for value, path in sorted((value, path) for path, value in entries.items() if value >= 0)))
            """, tree]);

        order.Split(' ', StringSplitOptions.TrimEntries).Should().Equal(
            "lib/python/hello_app/__init__.py", "lib/python/hello_app/check.py", "lib/python/hello_app/cli.py", "lib/python/hello_app/tests/test_own.py",
            "lib/python/dep/__init__.py", "lib/python/dep/sub/__init__.py", "lib/python/dep/testsuite.py");
    }

    /// <summary>
    /// XAR_START_READS, for the mount's server to decompress while the interpreter starts: the
    /// bootstrap's pycs, whole, then the bundle as far as its header, index and the application's own code.
    /// </summary>
    [Fact]
    public void TheHeaderNamesWhatEveryStartReadsTheBootstrapsPycsAndTheBundlesHead()
    {
        var (archive, tree) = Build(AppWithTestSuites(), entry: "hello");
        using var opened = XarArchive.Open(archive);

        var reads = StartRead.FromHeader(opened.Header, archive);

        string head = Run.Checked(Python311, ["-c", """
            import marshal, sys
            data = open(sys.argv[1] + "/__xar__/bytecode.bundle", "rb").read()
            length = int.from_bytes(data[12:16], "little")
            entries, native = marshal.loads(data[16:16 + length])
            print(16 + length + max((value >> 32) + (value & 0xFFFFFFFF) for path, value in entries.items() if value >= 0 and "/hello_app/" in path))
            """, tree]).Trim();
        reads.Select(read => read.Path).Should().Equal("__xar__/__pycache__/xar_bootstrap.cpython-311.pyc", "__xar__/__pycache__/xar_app.cpython-311.pyc", "__xar__/bytecode.bundle");
        reads[0].Length.Should().Be(new FileInfo(Path.Combine(tree, reads[0].Path)).Length);
        reads[1].Length.Should().Be(new FileInfo(Path.Combine(tree, reads[1].Path)).Length);
        reads[2].Length.Should().Be(long.Parse(head, System.Globalization.CultureInfo.InvariantCulture), "the application's own code ends there")
            .And.BeLessThan(new FileInfo(Path.Combine(tree, "__xar__/bytecode.bundle")).Length, "the dependency's code follows");
    }

    [Fact]
    public void TheStartReadsStayWithinTheirShareOfTheHeaderKeepingTheBundlesHeadFirst()
    {
        List<StartRead> reads = [new("a/b.pyc", 1), new("c.pyc", 2), new(BytecodeBundle.ImagePath, 9)];

        PythonArchiveBuilder.WithinBudget(reads, 1024).Should().Equal(reads);
        PythonArchiveBuilder.WithinBudget(reads, "c.pyc=2:__xar__/bytecode.bundle=9".Length).Should().Equal(reads[1..]);
        PythonArchiveBuilder.WithinBudget(reads, "c.pyc=2:__xar__/bytecode.bundle=9".Length - 1).Should().Equal(reads[2..]);
        PythonArchiveBuilder.WithinBudget(reads, 10).Should().BeEmpty();
    }

    [Fact]
    public void ADependencysTestPackagesAreShippedAsSourcesOnlyAndStillImport()
    {
        var (archive, tree) = Build(AppWithTestSuites(), entry: "hello");

        var (status, output, trace) = RunOriginalWay(tree, archive, [], ("XAR_VERBOSE_PYTHON", "1"));

        status.Should().Be(0);
        output.Should().Be("10\n");
        string bundle = $"{tree}/__xar__/bytecode.bundle:lib/python";
        trace.Should().Contain($"code object from '{bundle}/hello_app/tests/test_own.py'", "the application's own tests are its code");
        trace.Should().Contain($"code object from '{bundle}/dep/testsuite.py'", "only directories named test, tests or testing are test suites");
        trace.Should().Contain($"code object from {tree}/lib/python/dep/tests/test_dep.py", "a dependency's tests compile when imported")
            .And.Contain($"code object from {tree}/lib/python/dep/sub/testing/helpers.py")
            .And.NotContain($"{bundle}/dep/tests/").And.NotContain($"{bundle}/dep/sub/testing/");
    }

    /// <summary>The archive of <paramref name="app"/> with options of the test's, extracted.</summary>
    private (string Archive, string Tree) Build(PythonApplication app, Func<PythonArchiveOptions, PythonArchiveOptions> options)
    {
        string archive = _temp.Combine("app.xar");
        PythonArchiveBuilder.Build(app, options(new PythonArchiveOptions { Interpreter = Probe.Value, Entry = "hello", Layout = XarLayout.Xarexec }), archive);
        string tree = _temp.Combine("tree");
        using var opened = XarArchive.Open(archive);
        using var image = SquashFsImage.Open(opened.Image.Handle, opened.Image.Offset, ownsHandle: false);
        image.ExtractTo(tree);
        return (archive, tree);
    }

    private const string ImageHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// <summary>dep and its helpers reached by the import scan; dep.testsuite and dep.tests not (check.py imports them in a function the scan did not follow).</summary>
    private static readonly HashSet<string> DependencyReached =
        ["lib/python/dep/__init__.py", "lib/python/dep/sub/__init__.py", "lib/python/dep/sub/testing/__init__.py", "lib/python/dep/sub/testing/helpers.py"];

    [Fact]
    public void OnlyWhatTheImportScanReachedIsCompiledAndTheRestIsCompiledOnceIntoAPrivateCache()
    {
        var (archive, tree) = Build(AppWithTestSuites(), options => options with { Reached = DependencyReached });
        string cacheHome = _temp.Combine("cache-home");
        Directory.CreateDirectory(cacheHome);
        (string, string)[] environment = [("XAR_VERBOSE_PYTHON", "1"), ("XAR_IMAGE_SHA256", ImageHash), ("XDG_CACHE_HOME", cacheHome)];
        string pycache = $"{cacheHome}/xar/.app-caches/{ImageHash}/pycache";
        string cached = $"{pycache}/lib/python/dep/testsuite.cpython-311.pyc";

        var first = RunOriginalWay(tree, archive, [], environment);
        var second = RunOriginalWay(tree, archive, [], environment);

        first.ExitCode.Should().Be(0);
        first.Stdout.Should().Be("10\n");
        string bundle = $"{tree}/__xar__/bytecode.bundle:lib/python";
        first.Stderr.Should().Contain($"code object from '{bundle}/dep/sub/testing/helpers.py'", "reached by the scan")
            .And.Contain($"code object from '{bundle}/hello_app/tests/test_own.py'", "the application's own modules are all compiled")
            .And.NotContain($"{bundle}/dep/testsuite.py").And.NotContain($"{bundle}/dep/tests/");
        first.Stderr.Should().Contain($"created '{cached}'").And.Contain($"created '{pycache}/lib/python/dep/tests/test_dep.cpython-311.pyc'");
        foreach (string directory in new[] { $"{cacheHome}/xar/.app-caches/{ImageHash}", pycache, $"{pycache}/lib/python/dep" })
            System.IO.File.GetUnixFileMode(directory).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, directory);
        System.IO.File.GetUnixFileMode(cached).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        second.ExitCode.Should().Be(0);
        second.Stdout.Should().Be("10\n");
        second.Stderr.Should().Contain($"code object from '{cached}'").And.NotContain("created '");
        second.Stderr.Should().NotMatchRegex("code object from [^']", "every module's code comes from the bundle or the cache: nothing compiles");
    }

    [Fact]
    public void APycCacheThatIsASymlinkIsNotUsedAndNothingIsWrittenThroughIt()
    {
        var (archive, tree) = Build(AppWithTestSuites(), options => options with { Reached = DependencyReached });
        string cacheHome = _temp.Combine("cache-home");
        string elsewhere = _temp.Combine("elsewhere");
        Directory.CreateDirectory($"{cacheHome}/xar/.app-caches/{ImageHash}");
        Directory.CreateDirectory(elsewhere);
        System.IO.File.CreateSymbolicLink($"{cacheHome}/xar/.app-caches/{ImageHash}/pycache", elsewhere);

        var (status, output, trace) = RunOriginalWay(tree, archive, [], ("XAR_VERBOSE_PYTHON", "1"), ("XAR_IMAGE_SHA256", ImageHash), ("XDG_CACHE_HOME", cacheHome));

        status.Should().Be(0);
        output.Should().Be("10\n");
        trace.Should().Contain($"code object from {tree}/lib/python/dep/testsuite.py", "compiled, as from a read-only __pycache__").And.NotContain("created '");
        Directory.EnumerateFileSystemEntries(elsewhere).Should().BeEmpty();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheBundlesCodeHasColumnPositionsOnlyWithDebugRanges(bool debugRanges)
    {
        var app = HelloApplication() with
        {
            Files = [.. HelloApplication().Files, File("lib/python/hello_app/fail.py", "def main():\n    values = {}\n    return 1 + values['missing']\n")],
        };
        var (archive, tree) = Build(app, options => options with { Entry = "hello_app.fail:main", DebugRanges = debugRanges });

        var (status, _, errors) = RunOriginalWay(tree, archive, []);

        status.Should().Be(1);
        errors.Should().Contain("return 1 + values['missing']").And.Contain("KeyError: 'missing'");
        // CPython 3.11 underlines the failing expression from the column positions: ~~~~~~^^^^^^^^^^^
        if (debugRanges) errors.Should().Contain("^^^^");
        else errors.Should().NotContain("^");
    }

    [Fact]
    public void CompileAllPutsEveryModuleIntoTheBundle()
    {
        var (archive, tree) = Build(AppWithTestSuites(), options => options with { Reached = DependencyReached, CompileAll = true });

        var (status, _, trace) = RunOriginalWay(tree, archive, [], ("XAR_VERBOSE_PYTHON", "1"));

        status.Should().Be(0);
        trace.Should().Contain($"code object from '{tree}/__xar__/bytecode.bundle:lib/python/dep/tests/test_dep.py'");
        trace.Should().NotMatchRegex("code object from [^']");
    }

    [Fact]
    public void AChildStartedWithoutTheBootstrapImportsFromSourceAndWritesNoBytecodeIntoTheImage()
    {
        var app = HelloApplication() with
        {
            Files =
            [
                .. HelloApplication().Files,
                File("lib/python/hello_app/spawner.py", """
                    import multiprocessing, subprocess, sys
                    from hello_app import work
                    def main():
                        with multiprocessing.get_context("spawn").Pool(1) as pool:
                            print(pool.apply(work.origin))
                        # A child that runs the interpreter itself, with the archive's flags, the way pip-style tools do.
                        flags = subprocess._args_from_interpreter_flags()
                        code = "import sys; sys.path[:0] = [sys.argv[1]]; from hello_app import work; print(work.origin())"
                        print(subprocess.run([sys.executable, *flags, "-c", code, sys.path[-1]], capture_output=True, text=True, check=True).stdout, end="")
                    """),
                File("lib/python/hello_app/work.py", "def origin():\n    return 'from ' + __loader__.__class__.__name__\n"),
            ],
        };
        var (archive, tree) = Build(app, entry: "hello_app.spawner:main");

        var (status, output, errors) = RunOriginalWay(tree, archive, []);

        errors.Should().BeEmpty();
        status.Should().Be(0);
        output.Should().Be("from SourceFileLoader\nfrom SourceFileLoader\n", "the children have no bundle finder: they compile the sources");
        Directory.EnumerateFileSystemEntries(tree, "*", SearchOption.AllDirectories)
            .Where(p => p.Contains("__pycache__") && !p.Contains("/__xar__/"))
            .Should().BeEmpty("an interpreter started from the archive writes no bytecode into its (here writable) tree");
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
        RunOriginalWay(tree, archive, ["3"]).ExitCode.Should().Be(3);
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
                    if hasattr(importlib.resources, 'files'):
                        print(importlib.resources.files('probe').joinpath('data.txt').read_text().strip())
                    else:
                        print(importlib.resources.read_text('probe', 'data.txt').strip())
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
            File("lib/python/probe/idle.py", "import time\ndef main():\n    time.sleep(0.5)\n"),
            File("lib/python/probe/shape.py", """
                import os
                def main():
                    with open('/proc/self/status') as status:
                        print([line.strip().replace('\t', ' ') for line in status if line.startswith('Threads:')][0])
                    try:
                        os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        print('no children')
                """),
            File("lib/python/probe/_speedups.cpython-311-x86_64-linux-gnu.so", "not loaded: only read ahead"),
            // Big enough to be worth reading ahead (a megabyte and more), small in the image.
            ImageEntry.File("lib/python/probe.libs/libhelper.so.1", FileContent.FromBytes(new byte[1 << 20]), 0b110_100_100, 1_700_000_000),
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

    /// <summary>Every pyenv CPython the builder compiles for (3.7 and newer: unchecked-hash pycs).</summary>
    public static TheoryData<string> BytecodeInterpreters => new(Directory.GetDirectories("/root/.pyenv/versions")
        .Select(Path.GetFileName).Where(v => Version.TryParse(v, out var version) && version >= new Version(3, 7))!);

    [Theory]
    [MemberData(nameof(BytecodeInterpreters))]
    public void TheBundleFinderImportsAsCPythonsOwnFinderDoes(string version)
    {
        var probe = InterpreterProbe.Run($"/root/.pyenv/versions/{version}/bin/python3");
        var (archive, tree) = Build(ImportProbeApplication(), entry: "probe.check:main", interpreter: probe);
        string bundle = Path.Combine(tree, "__xar__/bytecode.bundle");
        System.IO.File.Move(bundle, bundle + ".aside");
        var (_, expected, expectedErrors) = RunOriginalWay(tree, archive, []);
        System.IO.File.Move(bundle + ".aside", bundle);

        var (status, output, errors) = RunOriginalWay(tree, archive, []);

        expected.Should().StartWith("SourceFileLoader\n", "the control run does not use the bundle");
        output.Should().StartWith("BundledSourceLoader\n");
        output.Should().Be(expected.Replace("SourceFileLoader", "BundledSourceLoader"));
        string tag = $"cpython-{probe.Facts.MajorVersion}{probe.Facts.MinorVersion}";
        output.Should().Contain($"ROOT/lib/python/probe/sub/leaf.py ROOT/lib/python/probe/sub/__pycache__/leaf.{tag}.pyc\n")
            .And.Contain("resource text\n").And.Contain("['alpha', 'beta']\n").And.Contain("def where():\n    return __file__\n")
            .And.Contain("['ROOT/lib/python/nspkg'] part\n").And.Contain("ROOT/lib/python/probe/linked.py\n")
            .And.Contain("SyntaxError in ROOT/lib/python/broken.py\n").And.Contain("raise ValueError('from the leaf')");
        status.Should().Be(1);
        errors.Should().Be(expectedErrors).And.EndWith("ModuleNotFoundError: No module named 'probe.missing'\n");
    }

    [Fact]
    public void ModulesOfADirectoryTheIndexCannotListStillComeFromTheBundle()
    {
        // lib/python/probe has a symlink in it: the index leaves it out, the file system lists it.
        var app = ImportProbeApplication();
        app = app with { Files = [.. app.Files, File("lib/python/probe/uses_link.py", "import probe.linked\ndef main():\n    print(probe.linked.where())\n")] };
        var (archive, tree) = Build(app, entry: "probe.uses_link:main");

        var (status, output, trace) = RunOriginalWay(tree, archive, [], ("XAR_VERBOSE_PYTHON", "1"));

        status.Should().Be(0);
        output.Should().Be($"{tree}/lib/python/probe/linked.py\n");
        string bundle = $"{tree}/__xar__/bytecode.bundle:lib/python/probe";
        trace.Should().Contain($"code object from '{bundle}/__init__.py'").And.Contain($"code object from '{bundle}/uses_link.py'")
            .And.Contain($"code object from '{bundle}/linked_target.py'", "a symlinked module's code is its target's");
        trace.Should().NotMatchRegex("code object from [^']", "nothing is compiled at start");
    }

    /// <summary>
    /// CPython's cyclic collector makes its first full collection of a process after a fixed count
    /// of container allocations (tuples, dicts, sets, functions…): for a medium application that
    /// is 40 ms, and an application whose start in a venv stays just under the count must not
    /// meet it from the archive. So the bootstrap allocates fewer containers than a venv's
    /// <c>site.main()</c> does, and no more for a large application than for a small one (the
    /// bundle's index of 1,000 modules in 100 packages costs none). Counted with the collector
    /// disabled, against the same entry imported by a plain interpreter from the tree.
    /// </summary>
    [Fact]
    public void TheBootstrapAllocatesFewerContainersThanAVenvsSiteWhateverTheApplicationsSize()
    {
        ImageEntry[] counter = [File("lib/python/hello_app/count.py", "import gc\ndef main():\n    print(gc.get_count()[0])\n")];
        var small = HelloApplication() with { Files = [.. HelloApplication().Files, .. counter] };
        var large = small with
        {
            Files =
            [
                .. small.Files,
                .. Enumerable.Range(0, 100).SelectMany(p => Enumerable.Range(0, 10)
                    .Select(m => File($"lib/python/large/p{p}/{(m == 0 ? "__init__" : $"m{m}")}.py", $"VALUE = {m}\n"))
                    .Append(File($"lib/python/large/p{p}/data.json", "{}"))),
            ],
        };

        int smallCost = BootstrapContainers(Build(small, entry: "hello_app.count:main", name: "small"));
        int largeCost = BootstrapContainers(Build(large, entry: "hello_app.count:main", name: "large"));
        string venv = _temp.Combine("venv");
        Run.Checked(Python311, ["-m", "venv", "--without-pip", venv]);
        int site = int.Parse(Run.Checked($"{venv}/bin/python", ["-S", "-c", "import gc; gc.disable(); c = gc.get_count()[0]; import site; site.main(); print(gc.get_count()[0] - c)"]));

        largeCost.Should().BeCloseTo(smallCost, 10, "the index of a large application costs the collector nothing more");
        largeCost.Should().BeLessThan(site, "an archive's start must not count more towards a full collection than the venv's");
    }

    /// <summary>Containers allocated from the interpreter's start to the entry, less those a plain interpreter allocates for the same entry from the tree.</summary>
    private static int BootstrapContainers((string Archive, string Tree) built)
    {
        var (archive, tree) = built;
        const string Disable = "import gc;gc.disable();";
        var environment = new Dictionary<string, string?> { ["XAR_MOUNT"] = tree, ["XAR_INVOKED_NAME"] = archive };
        int Count(string program) =>
            int.Parse(Run.Checked(Python311, ["-I", "-S", "-B", "-c", Disable + program], environment, cleanEnvironment: true));
        return Count(PythonLaunch.BootCommand) - Count($"import sys;sys.path[:0]=['{tree}/lib/python'];from hello_app.count import main;main()");
    }

    [Fact]
    public void AFreshMountHasTheBundleAndTheNativeLibrariesReadAhead()
    {
        var (archive, tree) = Build(ImportProbeApplication(), entry: "probe.idle:main");

        string Trace(params (string, string)[] environment)
        {
            string log = _temp.Combine($"strace-{Guid.NewGuid():N}");
            RunOriginalWay(tree, archive, [], [("XAR_STRACE", log), .. environment]).ExitCode.Should().Be(0);
            return System.IO.File.ReadAllText(log);
        }

        Trace(("XARFUSE_NEW_MOUNT", "1")).Should().Contain("lib/python/probe/_speedups.cpython-311-x86_64-linux-gnu.so")
            .And.Contain("lib/python/probe.libs/libhelper.so.1");
        Trace().Should().NotContain("_speedups", "a mount that was there already has its pages cached")
            .And.Contain("__xar__/bytecode.bundle");
        Trace(("XARFUSE_NEW_MOUNT", "1"), ("XAR_RUN_MODE", "extract")).Should().NotContain("_speedups", "an extraction was just written");
    }

    [Fact]
    public void AStartOnAFreshMountRecordsWhatItLoadedAndTheNextFreshMountReadsOnlyThatAhead()
    {
        var (archive, tree) = Build(ImportProbeApplication(), entry: "probe.idle:main");
        string cacheHome = _temp.Combine("cache-home");
        Directory.CreateDirectory(cacheHome);
        string record = $"{cacheHome}/xar/.app-caches/{ImageHash}/read-ahead";
        (string, string)[] image = [("XAR_IMAGE_SHA256", ImageHash), ("XDG_CACHE_HOME", cacheHome)];
        string Trace(params (string, string)[] environment)
        {
            string log = _temp.Combine($"strace-{Guid.NewGuid():N}");
            RunOriginalWay(tree, archive, [], [("XAR_STRACE", log), .. image, .. environment]).ExitCode.Should().Be(0);
            return System.IO.File.ReadAllText(log);
        }

        Trace().Should().Contain("__xar__/bytecode.bundle");
        System.IO.File.Exists(record).Should().BeFalse("a mount that was there already reads nothing ahead");
        Trace(("XARFUSE_NEW_MOUNT", "1")).Should().Contain("_speedups", "without a record the reader reads every native file");

        // The bundle's modules the start loaded (by their index entries), in that order, and no native file: it mapped none.
        Run.Checked(Python311, ["-c", """
            import marshal, sys
            data = open(sys.argv[1] + "/__xar__/bytecode.bundle", "rb").read()
            entries, native = marshal.loads(data[16:16 + int.from_bytes(data[12:16], "little")])
            spans, paths, directories = marshal.loads(open(sys.argv[2], "rb").read())
            names = {value: path for path, value in entries.items() if value >= 0}
            print([names[span] for span in spans], paths, directories)
            """, tree, record]).Should().Be("['lib/python/probe/__init__.py', 'lib/python/probe/idle.py'] [] ['lib/python', 'lib/python/probe']\n",
                "the bootstrap's site.addsitedir lists lib/python, and a FileFinder the package's directory (the index cannot list it: it holds a symlink)");
        new FileInfo(record).UnixFileMode.Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Trace(("XARFUSE_NEW_MOUNT", "1")).Should().NotContain("_speedups", "the record names what a start maps")
            .And.NotContain("libhelper");

        // A record naming a file the index does not list as native is not followed.
        Run.Checked(Python311, ["-c", "import marshal, sys; open(sys.argv[1], 'wb').write(marshal.dumps(([], ['lib/python/probe/data.txt'], [])))", record]);
        Trace(("XARFUSE_NEW_MOUNT", "1")).Should().NotContain("data.txt");
    }

    [Fact]
    public void AFreshMountsReadAheadListsTheDirectoriesEarlierStartsListedAndTheSubdirectoriesOfAWalkedTree()
    {
        // It stays a second: the reader lists nothing once the application has exited.
        ImageEntry lister = File("lib/python/probe/lister.py",
            "import os, time\ndef main():\n    print(len(os.listdir(os.path.dirname(__file__))) > 0, flush=True)\n    time.sleep(1)\n");
        var (archive, tree) = Build(ImportProbeApplication() with { Files = [.. ImportProbeApplication().Files, lister] }, entry: "probe.lister:main");
        string cacheHome = _temp.Combine("cache-home");
        Directory.CreateDirectory(cacheHome);
        string record = $"{cacheHome}/xar/.app-caches/{ImageHash}/read-ahead";
        string Trace()
        {
            string log = _temp.Combine($"strace-{Guid.NewGuid():N}");
            var result = RunOriginalWay(tree, archive, [], ("XAR_STRACE", log), ("XAR_IMAGE_SHA256", ImageHash), ("XDG_CACHE_HOME", cacheHome),
                ("XARFUSE_NEW_MOUNT", "1"));
            result.ExitCode.Should().Be(0);
            result.Stdout.Should().Be("True\n");
            return System.IO.File.ReadAllText(log);
        }
        // What os.scandir opens: a subdirectory of the listed one that the application never lists.
        const string listingOfSub = "lib/python/probe/sub\", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY";

        Trace().Should().NotContain(listingOfSub, "no start listed anything yet");
        Run.Checked(Python311, ["-c", "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read())[2])", record])
            .Should().Be("['lib/python', 'lib/python/probe']\n", "the bootstrap listed lib/python, the application (and a FileFinder) its package's directory");
        Trace().Should().Contain(listingOfSub, "the reader lists what the record names, and the subdirectories of one listed in a listed one")
            .And.NotContain("lib/python/probe.libs\", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY", "lib/python was listed alone: its packages are not walked");

        // A record naming a directory outside the tree is not followed at all: the reader reads the whole application.
        Run.Checked(Python311, ["-c", "import marshal, sys; open(sys.argv[1], 'wb').write(marshal.dumps(([], [], ['lib/python/probe/../../..'])))", record]);
        Trace().Should().NotContain(listingOfSub).And.Contain("_speedups");
    }

    [Fact]
    public void AFreshMountsReadAheadLooksUpTheNamesTheDaemonRecordedAsMissingButNotThoseOfADamagedRecord()
    {
        var (archive, tree) = Build(ImportProbeApplication(), entry: "probe.idle:main");
        string cacheHome = _temp.Combine("cache-home");
        string directory = $"{cacheHome}/xar/.app-caches/{ImageHash}";
        Directory.CreateDirectory(directory);
        string Trace(byte[] record)
        {
            // What the daemon writes when a mount ends (MissedNameRecord): names nothing in the image has.
            System.IO.File.WriteAllBytes(directory + "/missing-names", record);
            string log = _temp.Combine($"strace-{Guid.NewGuid():N}");
            RunOriginalWay(tree, archive, [], ("XAR_STRACE", log), ("XAR_STRACE_CALLS", "openat,newfstatat"), ("XAR_IMAGE_SHA256", ImageHash),
                ("XDG_CACHE_HOME", cacheHome), ("XARFUSE_NEW_MOUNT", "1")).ExitCode.Should().Be(0);
            return System.IO.File.ReadAllText(log);
        }
        byte[] Record(params string[] names) => Encoding.UTF8.GetBytes("xar missing names 1\n" + string.Concat(names.Select(name => name + "\n")));
        const string inSub = "lib/python/probe/sub/service-2.json", atTop = "lib/python/nowhere.pth";

        Trace(Record(inSub, atTop)).Should().Contain($"/{inSub}\"").And.Contain($"/{atTop}\"", "the reader looks up what the record names");
        foreach (string unfollowed in (string[])["lib/python/probe/../../../../etc/hostname", "/etc/hostname", "lib/python//probe", "lib/python/./x"])
            Trace(Record(inSub, unfollowed)).Should().NotContain(inSub, $"a record naming {unfollowed} is not followed at all").And.NotContain("etc/hostname");
        Trace([.. Record(inSub), 0xFF, (byte)'\n']).Should().NotContain(inSub, "a record that is not UTF-8 is damaged");
        Trace(Encoding.UTF8.GetBytes("xar missing names 2\n" + inSub + "\n")).Should().NotContain(inSub, "nor one of another format");
        Trace(Record(inSub)[..^1]).Should().NotContain(inSub, "nor one cut short");
    }

    [Fact]
    public void TheReadAheadLeavesAStandaloneInterpretersFilesToBeReadOnDemand()
    {
        var (archive, tree) = Build(ImportProbeApplication(), entry: "probe.idle:main");
        // A standalone archive's interpreter in the bundle's index: an extension module of its standard library.
        const string interpreterModule = "__xar__/python/lib/python3.11/lib-dynload/_interp.cpython-311-x86_64-linux-gnu.so";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, interpreterModule))!);
        System.IO.File.WriteAllBytes(Path.Combine(tree, interpreterModule), new byte[1 << 20]);
        Run.Checked(Python311, ["-c", """
            import marshal, sys
            path = sys.argv[1] + "/__xar__/bytecode.bundle"
            data = open(path, "rb").read()
            length = int.from_bytes(data[12:16], "little")
            entries, native = marshal.loads(data[16:16 + length])
            index = marshal.dumps((entries, {sys.argv[2]: 1 << 20, **native}))
            open(path, "wb").write(data[:12] + len(index).to_bytes(4, "little") + index + data[16 + length:])
            """, tree, interpreterModule]);
        string log = _temp.Combine("strace");

        RunOriginalWay(tree, archive, [], ("XAR_STRACE", log), ("XARFUSE_NEW_MOUNT", "1")).ExitCode.Should().Be(0);

        System.IO.File.ReadAllText(log).Should().Contain("lib/python/probe.libs/libhelper.so.1", "the application's libraries are read ahead")
            .And.NotContain("_interp", "a start imports a few of the interpreter's modules; reading them all competes with it");
    }

    [Fact]
    public void TheReadAheadIsNeitherAThreadNorAChildOfTheApplicationAndHoldsNoneOfItsOutput()
    {
        var (archive, tree) = Build(ImportProbeApplication(), entry: "probe.shape:main");
        // A FIFO without a writer: the read-ahead blocks opening it, as on a daemon that never answers.
        string native = Path.Combine(tree, "lib/python/probe/_speedups.cpython-311-x86_64-linux-gnu.so");
        System.IO.File.Delete(native);
        Run.Checked("mkfifo", [native]);

        var (status, output, errors) = RunOriginalWay(tree, archive, [], ("XARFUSE_NEW_MOUNT", "1"));

        (status, output, errors).Should().Be((0, "Threads: 1\nno children\n", ""), "the output ends when the application does");
        // Opening the FIFO for writing without blocking succeeds only while someone reads it.
        var opening = () => Run.Checked("timeout", ["5", "sh", "-c", $"exec 3>'{native}'"]);
        opening.Should().NotThrow("the read-ahead was waiting on it");
    }

    [Fact]
    public void RunShRefusesAnInterpreterOfAnotherVersionInOneLine()
    {
        // A wrapper keeps its own path as sys.executable (exec -a): the header records it as it is.
        string python = _temp.Combine("bin", "python3");
        Directory.CreateDirectory(Path.GetDirectoryName(python)!);
        void Wrap(string target) => System.IO.File.WriteAllText(python, $"#!/bin/bash\nexec -a \"$0\" {target} \"$@\"\n");
        Wrap(Python311);
        System.IO.File.SetUnixFileMode(python, (UnixFileMode)Convert.ToInt32("755", 8));
        var (archive, tree) = Build(HelloApplication() with { Scripts = [HelloApplication().Scripts[0]] }, interpreter: InterpreterProbe.Run(python));
        Wrap("/root/.pyenv/versions/3.12.1/bin/python3.12");

        var result = RunOriginalWay(tree, archive, []);

        result.Should().Be(new RunResult(127, "", $"xarexec: {archive}: needs cpython-3.11 (cp311), started {python} which is cpython-3.12 (cp312)\n"));
    }

    [Fact]
    public void TheRecordedInterpreterIsNamedWithItsVersionUnlessThatWouldLeaveItsVenv()
    {
        const string Target = "/usr/bin/python3.11";
        var facts = Probe.Value.Facts;
        string Link(string path, string target)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            System.IO.File.CreateSymbolicLink(path, target);
            return path;
        }

        string beside = Link(_temp.Combine("beside", "python3"), Target);
        Link(_temp.Combine("beside", "python3.11"), Target);
        string alone = Link(_temp.Combine("alone", "python3"), "/usr/bin/python3");
        string venv = Link(_temp.Combine("venv", "bin", "python"), Target);
        System.IO.File.WriteAllText(_temp.Combine("venv", "pyvenv.cfg"), "home = /usr/bin\n");
        string other = Link(_temp.Combine("other", "python3"), Target);
        Link(_temp.Combine("other", "python3.11"), "/root/.pyenv/versions/3.11.7/bin/python3.11");

        PythonArchiveBuilder.VersionedInterpreter(beside, facts).Should().Be(_temp.Combine("beside", "python3.11"));
        PythonArchiveBuilder.VersionedInterpreter(alone, facts).Should().Be(Target, "the link resolves to a versioned name");
        PythonArchiveBuilder.VersionedInterpreter(venv, facts).Should().Be(venv, "a venv is known by the path it was started from");
        PythonArchiveBuilder.VersionedInterpreter(other, facts).Should().Be(Target, "the python3.11 beside it is another interpreter");
        PythonArchiveBuilder.VersionedInterpreter(Target, facts).Should().Be(Target);
    }

    /// <summary>Runs like the original xarexec_fuse: /bin/sh -e TREE/__xar__/run.sh ARCHIVE ARGS, under env -i.</summary>
    private static RunResult RunOriginalWay(string tree, string archive, string[] arguments, params (string, string)[] environment)
    {
        var variables = new Dictionary<string, string?>();
        bool verbose = false;
        string? straceLog = null;
        string traced = "openat";
        foreach (var (name, value) in environment)
        {
            if (name == "XAR_VERBOSE_PYTHON") verbose = true;
            else if (name == "XAR_STRACE") straceLog = value;
            else if (name == "XAR_STRACE_CALLS") traced = value;
            else variables[name] = value;
        }
        var command = new List<string>();
        // strace -f: the read-ahead happens in a thread of the interpreter.
        if (straceLog is not null)
            command.AddRange(["/usr/bin/strace", "-f", "-qq", "-e", "trace=" + traced, "-o", straceLog]);
        if (verbose)
        {
            // -v is a Python flag: run the interpreter the way run.sh would, with it added.
            variables["XAR_MOUNT"] = tree;
            variables["XAR_INVOKED_NAME"] = archive;
            command.AddRange([Python311, "-I", "-S", "-B", "-v", "-c", PythonLaunch.BootCommand]);
        }
        else
        {
            command.AddRange(["/bin/sh", "-e", $"{tree}/__xar__/run.sh", archive]);
        }
        command.AddRange(arguments);
        // Output ends when every holder of the pipes exits: a process left holding them fails the test, not hangs it.
        return Run.Program(command[0], command[1..], variables, cleanEnvironment: true, workingDirectory: "/", timeout: TimeSpan.FromSeconds(60));
    }
}
