using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>examples/py-hello and examples/py-ext, built from source by the target's pip, offline.</summary>
public sealed class ExampleArchives : IDisposable
{
    internal Workspace Workspace { get; } = new();

    public ExampleArchives()
    {
        Directory.CreateDirectory(Workspace.Combine("bin"));
        (Hello, Extension) = Workspace.DisposeIfThrows(() => (Build("py-hello", "hello.xar"), Build("py-ext", "fib.xar")));
    }

    /// <summary>py-hello: console scripts `hello` (the [tool.xar] entry) and `hello-exit`.</summary>
    public string Hello { get; }

    /// <summary>py-ext: console script `fib`, backed by a C extension compiled during the build.</summary>
    public string Extension { get; }

    private string Build(string example, string name) =>
        XarTool.Build(Workspace.Combine("bin", name), Repository.Example(example), "--python", Interpreters.ExamplePython,
            "--no-index", "--find-links", Interpreters.WheelData);

    public void Dispose() => Workspace.Dispose();
}

public sealed class ExampleProjectTests(ExampleArchives archives) : IClassFixture<ExampleArchives>
{
    private Workspace Workspace => archives.Workspace;

    [Fact]
    public void Hello_runs_its_tool_xar_entry_with_the_arguments_from_another_directory_and_exits_0_for_None()
    {
        var result = Workspace.Launch(archives.Hello, ["an argument with spaces", "", "--flag"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be(
            $"hello from hello.xar 1.0.0 (Python {Interpreters.ExampleSeries})\n" +
            $"running from {Workspace.MountDirectory(archives.Hello)}\n" +
            "arg 1: [an argument with spaces]\narg 2: []\narg 3: [--flag]\n");
        result.Stderr.Should().BeEmpty();
    }

    [Fact]
    public void A_link_named_like_the_other_console_script_runs_it_and_its_return_value_is_the_exit_status()
    {
        string link = Workspace.Link(archives.Hello, "hello-exit");

        Workspace.Launch(link, ["3"]).Should().Be(new RunResult(3, "", ""));
        Workspace.Launch(link, []).Should().Be(new RunResult(0, "", ""));
    }

    [Fact]
    public void A_link_named_like_the_default_script_runs_it_with_the_link_as_argv0()
    {
        string link = Workspace.Link(archives.Hello, "hello");

        var result = Workspace.Launch(link, ["x"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().StartWith($"hello from hello 1.0.0 (Python {Interpreters.ExampleSeries})\n").And.EndWith("arg 1: [x]\n");
    }

    [Fact]
    public void XAR_ENTRY_picks_a_script_and_argv0_stays_the_invoked_name()
    {
        string link = Workspace.Link(archives.Hello, "greeter");

        var exit = Workspace.Launch(archives.Hello, ["7"], new Dictionary<string, string?> { ["XAR_ENTRY"] = "hello-exit" });
        var hello = Workspace.Launch(link, [], new Dictionary<string, string?> { ["XAR_ENTRY"] = "hello" });
        var unknown = Workspace.Launch(archives.Hello, [], new Dictionary<string, string?> { ["XAR_ENTRY"] = "nope" });

        exit.Should().Be(new RunResult(7, "", ""));
        hello.Stdout.Should().StartWith("hello from greeter 1.0.0");
        unknown.ExitCode.Should().Be(2);
        unknown.Stdout.Should().BeEmpty();
        unknown.Stderr.Should().Be($"{archives.Hello}: XAR_ENTRY=nope is not one of: hello, hello-exit\n");
    }

    [Fact]
    public void The_application_ignores_PYTHONPATH_and_the_working_directory()
    {
        // A decoy package of the application's name where a non-isolated interpreter would look first.
        string decoys = Workspace.Combine("decoys");
        Workspace.Write("decoys/xar_hello/__init__.py", "raise SystemExit('the decoy was imported')\n");

        var result = Run.Program(archives.Hello, [], new Dictionary<string, string?> { ["PYTHONPATH"] = decoys },
            cleanEnvironment: true, workingDirectory: decoys);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().StartWith("hello from hello.xar 1.0.0");
    }

    [Fact]
    public void The_C_extension_loads_from_a_mount_and_from_an_extraction()
    {
        var mounted = Workspace.Launch(archives.Extension, ["20"]);
        var extracted = Workspace.Launch(archives.Extension, ["30"], Workspace.Extraction);

        string module = "_fib" + Interpreters.ExampleExtensionSuffix;
        mounted.Should().Be(new RunResult(0, $"fib(20) = 6765 computed by {module}\n", ""));
        extracted.Should().Be(new RunResult(0, $"fib(30) = 832040 computed by {module}\n", ""));
        File.Exists(Path.Combine(Workspace.ExtractionDirectory(archives.Extension), "lib/python/xar_ext", module)).Should().BeTrue();
        Mounts.IsMountPoint(Workspace.MountDirectory(archives.Extension)).Should().BeTrue();
    }
}
