using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// Issue 9's acceptance: archives built with `xar build --standalone` run on a host that has
/// nothing but a kernel, glibc and /dev/fuse — the <see cref="MinimalHost"/> roots — mounted and
/// extracted, with the same output (and PNG) as the application run natively here. Category
/// Acceptance: part of the suite; `scripts/test --filter Category=Acceptance` runs them alone.
/// </summary>
public sealed class StandaloneArchives : IDisposable
{
    internal Workspace Workspace { get; } = new();

    public StandaloneArchives()
    {
        (SciWheel, SciVenv, Sci) = Workspace.DisposeIfThrows(() =>
        {
            // The example as a user with Debian's stack installs it: a wheel, in a venv on top of /usr/bin/python3.
            string source = Workspace.Combine("sci-app");
            Run.Checked("cp", ["-r", Repository.Example("sci-app"), source]);
            string wheels = Workspace.Combine("wheels");
            Run.Checked(DebianPython, ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--disable-pip-version-check", source, "-w", wheels]);
            string wheel = Directory.GetFiles(wheels, "xar_example_sci-*.whl").Single();
            string venv = VirtualEnvironment.CreateOnTopOf(DebianPython, Workspace.Combine("sci-venv"), wheel);
            // Only the application's name: its undeclared dependencies are the build's business.
            string sci = Standalone("sci.xar", "--wheels", wheel, "--from-env", DebianSitePackages, "--python", DebianPython, "xar-example-sci[extras]");
            return (wheel, venv, sci);
        });
    }

    public const string DebianPython = "/usr/bin/python3.11";

    public const string DebianSitePackages = "/usr/lib/python3/dist-packages";

    public string SciWheel { get; }

    /// <summary>A venv on top of Debian's Python with the sci-app wheel installed: the native baseline.</summary>
    public string SciVenv { get; }

    /// <summary>examples/sci-app, --standalone, from its wheel and Debian's dist-packages.</summary>
    public string Sci { get; }

    /// <summary>`xar build --standalone ARGS -o WORKSPACE/NAME`; the build's output is in the exception when it fails.</summary>
    public string Standalone(string name, params string[] arguments) =>
        XarTool.Build(Workspace.Combine(name), ["--standalone", .. arguments]);

    public void Dispose() => Workspace.Dispose();
}

[Trait("Category", "Acceptance")]
public sealed class StandaloneAcceptanceTests(StandaloneArchives archives) : IClassFixture<StandaloneArchives>
{
    private Workspace Workspace => archives.Workspace;

    [Theory]
    [InlineData("extract", false)]
    [InlineData("extract", true)]
    [InlineData("mount", false)]
    public void The_sci_app_runs_on_a_minimal_debian_as_it_runs_natively(string mode, bool asNobody)
    {
        var native = NativeSci();
        // Mounting needs squashfuse_ll on the host; extracting needs nothing.
        MinimalHost host = mode == "mount" ? MinimalHost.WithFuse : MinimalHost.Bare;
        using var work = new TempDirectory("minimal-host");
        File.Copy(archives.Sci, work.Combine("sci.xar"));

        RunResult result = host.Run(work.Path, ["./sci.xar", "/tmp/sci.png"], asNobody, new Dictionary<string, string?> { ["XAR_MODE"] = mode });

        result.Should().Be(native.Result with { Stdout = native.Result.Stdout.Replace(Path.GetFileName(native.Png), "sci.png") },
            "in {0} ({1}, {2}) the archive prints what the application prints natively", host.Root, mode, asNobody ? "nobody" : "root");
        File.ReadAllBytes(work.Combine("sci.png")).Should().Equal(File.ReadAllBytes(native.Png), "the PNG is byte-identical");
    }

    [Theory]
    [InlineData("3.8")]
    [InlineData("3.13")]
    public void A_pyenv_cpython_app_with_a_C_extension_runs_on_a_minimal_debian(string series)
    {
        string python = Path.Combine(series == "3.8" ? Interpreters.Pyenv38 : Interpreters.Pyenv313, "bin", "python" + series);
        string archive = archives.Standalone($"fib-{series}.xar", Repository.Example("py-ext"), "--python", python,
            "--no-index", "--find-links", Interpreters.WheelData);
        string suffix = Run.Checked(python, ["-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"]).Trim();
        string expected = $"fib(20) = 6765 computed by _fib{suffix}\n";

        foreach (var (host, mode) in (ReadOnlySpan<(MinimalHost, string)>)[(MinimalHost.Bare, "extract"), (MinimalHost.WithFuse, "mount")])
        {
            using var work = new TempDirectory("minimal-host");
            File.Copy(archive, work.Combine("fib.xar"));
            host.Run(work.Path, ["./fib.xar", "20"], environment: new Dictionary<string, string?> { ["XAR_MODE"] = mode })
                .Should().Be(new RunResult(0, expected, ""), "CPython {0} in {1} ({2})", series, host.Root, mode);
        }
    }

    [Fact]
    public void An_app_from_a_venv_runs_on_a_minimal_debian_as_in_the_venv()
    {
        string archive = archives.Standalone("sci-venv.xar", "--from-env", archives.SciVenv, "xar-example-sci[extras]");
        var native = NativeSci();
        using var work = new TempDirectory("minimal-host");
        File.Copy(archive, work.Combine("sci.xar"));

        RunResult result = MinimalHost.Bare.Run(work.Path, ["./sci.xar", "/tmp/sci.png"], environment: new Dictionary<string, string?> { ["XAR_MODE"] = "extract" });

        result.Should().Be(native.Result with { Stdout = native.Result.Stdout.Replace(Path.GetFileName(native.Png), "sci.png") });
        File.ReadAllBytes(work.Combine("sci.png")).Should().Equal(File.ReadAllBytes(native.Png));
    }

    [Fact]
    public void The_running_app_maps_only_files_of_its_image_and_glibc()
    {
        // The host has every library the app needs (Debian's python3, libblas, libcairo…): none may be used.
        string maps = Workspace.Combine("maps.txt");
        string wheel = new TestWheel
        {
            Name = "mapsprobe",
            RequiresDist = ["xar-example-sci[extras]"],
            EntryPoints = "[console_scripts]\nmapsprobe = mapsprobe:main\n",
            Files = new Dictionary<string, string>
            {
                ["mapsprobe.py"] = """
                    import sys


                    def main():
                        from xar_sci import cli

                        cli.main()  # every library of the stack loaded
                        with open(sys.argv[2], "w") as out, open("/proc/self/maps") as maps:
                            out.write(maps.read())
                    """,
            },
        }.WriteTo(Workspace.Combine("probe-wheels"));
        string archive = archives.Standalone("mapsprobe.xar", "--wheels", wheel, archives.SciWheel, "--from-env", StandaloneArchives.DebianSitePackages,
            "--python", StandaloneArchives.DebianPython, "mapsprobe");

        RunResult result = Workspace.Launch(archive, [Workspace.Combine("probe.png"), maps]);

        result.ExitCode.Should().Be(0, result.ToString());
        string tree = Workspace.MountDirectory(archive);
        string[] foreign = [.. File.ReadAllLines(maps)
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && fields[5].StartsWith('/'))
            .Select(fields => fields[5])
            // Not files of the host: devices, memfd and System V shared memory.
            .Where(path => !path.StartsWith(tree + "/", StringComparison.Ordinal) && !IsGlibc(path)
                && !path.StartsWith("/dev/", StringComparison.Ordinal) && !path.StartsWith("/memfd:", StringComparison.Ordinal) && !path.StartsWith("/SYSV", StringComparison.Ordinal))
            .Distinct()];
        foreign.Should().BeEmpty("every mapped file comes from the image ({0}) or is glibc", tree);
    }

    /// <summary>glibc's own objects, which a standalone archive takes from the host (issue 9: "nothing but a kernel, glibc").</summary>
    private static bool IsGlibc(string path) =>
        Path.GetFileName(path) is var name && (name.StartsWith("ld-linux", StringComparison.Ordinal)
            || ((string[])["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1", "libresolv.so.2", "libnss_files.so.2",
                "libmvec.so.1", "libanl.so.1"]).Contains(name)
            || path.StartsWith("/usr/lib/locale/", StringComparison.Ordinal) || path.StartsWith("/usr/lib/x86_64-linux-gnu/gconv/", StringComparison.Ordinal));

    /// <summary>The sci-app's console script of the venv, run natively like the archives (`env -i`, from /): its output and its PNG.</summary>
    private (RunResult Result, string Png) NativeSci()
    {
        string png = Workspace.Combine($"native-{Guid.NewGuid():N}.png");
        RunResult result = Workspace.Native(Path.Combine(archives.SciVenv, "bin", "sci"), [png]);
        result.ExitCode.Should().Be(0, result.ToString());
        return (result, png);
    }
}

/// <summary>
/// The minimal roots themselves: what they lack, and that <see cref="MinimalHost.Run"/> runs an
/// archive there as root and as nobody, extracted and mounted. Category Acceptance with the tests
/// that use them: building the roots needs the Debian mirror (about 30 s each, once).
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class MinimalHostTests(ExampleArchives archives) : IClassFixture<ExampleArchives>
{
    [Fact]
    public void The_minimal_roots_have_no_python_and_no_blas_and_only_the_fuse_one_has_squashfuse_ll()
    {
        using var work = new TempDirectory("minimal-host");
        const string Probe = "for f in /usr/bin/python3 /usr/lib/x86_64-linux-gnu/libblas.so.3 /usr/bin/squashfuse_ll /usr/bin/fusermount3; do [ -e $f ] && echo has $f || echo no $f; done";

        RunResult bare = MinimalHost.Bare.Run(work.Path, ["/bin/sh", "-c", Probe]);
        RunResult fuse = MinimalHost.WithFuse.Run(work.Path, ["/bin/sh", "-c", Probe]);

        bare.Should().Be(new RunResult(0, "no /usr/bin/python3\nno /usr/lib/x86_64-linux-gnu/libblas.so.3\nno /usr/bin/squashfuse_ll\nno /usr/bin/fusermount3\n", ""));
        fuse.Should().Be(new RunResult(0, "no /usr/bin/python3\nno /usr/lib/x86_64-linux-gnu/libblas.so.3\nhas /usr/bin/squashfuse_ll\nhas /usr/bin/fusermount3\n", ""));
        MinimalHost.Bare.Run(work.Path, ["/bin/sh", "-c", "id -u; touch /etc/x 2>/dev/null || echo read-only"], asNobody: true)
            .Should().Be(new RunResult(0, $"{MinimalHost.Nobody}\nread-only\n", ""));
    }

    [Theory]
    [InlineData("extract", false)]
    [InlineData("extract", true)]
    [InlineData("mount", false)]
    public void A_host_python_archive_there_fails_in_one_line_naming_the_interpreter_it_needs(string mode, bool asNobody)
    {
        using var work = new TempDirectory("minimal-host");
        File.Copy(archives.Hello, work.Combine("hello.xar"));
        MinimalHost host = mode == "mount" ? MinimalHost.WithFuse : MinimalHost.Bare;

        RunResult result = host.Run(work.Path, ["./hello.xar"], asNobody, new Dictionary<string, string?> { ["XAR_MODE"] = mode });

        result.ExitCode.Should().Be(127, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: /tmp/hello.xar: needs cpython-{Interpreters.ExampleSeries} ", "one line: {0}", result);
        result.Stderr.TrimEnd('\n').Should().NotContain("\n", "one line: {0}", result);
        Directory.EnumerateFileSystemEntries(work.Path, "*", SearchOption.AllDirectories).Should().NotContain(p => p.EndsWith(".tmp"), "nothing half-made is left");
    }
}
