using Xar.Archive.Elf;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>What users install, made by scripts/pack once: the .NET tool package and the single-file executable.</summary>
public sealed class PackedTool : IDisposable
{
    internal Workspace Workspace { get; } = new();

    public PackedTool()
    {
        Distribution = Workspace.DisposeIfThrows(() =>
            Run.Checked(Path.Combine(Repository.Root, "scripts/pack"), [Workspace.Combine("dist")], timeout: TimeSpan.FromMinutes(20)).Trim());
    }

    /// <summary>The directory holding xar.&lt;version&gt;.nupkg and the single-file `xar`.</summary>
    public string Distribution { get; }

    public void Dispose() => Workspace.Dispose();
}

/// <summary>
/// Installed as a user would, outside the source tree and with nothing else: `dotnet tool install`
/// from the built package alone (a package source of that directory only, an empty NuGet cache),
/// or the single-file executable copied by itself; no XAR_LAUNCHER, no --launcher. Each builds a
/// self archive, which must run.
/// </summary>
public sealed class InstallationTests(PackedTool packed) : IClassFixture<PackedTool>
{
    private Workspace Workspace => packed.Workspace;

    [Fact]
    public void The_dotnet_tool_installs_offline_from_its_package_and_builds_raw_and_python_self_archives_that_run()
    {
        string config = Workspace.Write("nuget.config",
            $"<configuration><packageSources><clear /><add key=\"dist\" value=\"{packed.Distribution}\" /></packageSources></configuration>");
        string tools = Workspace.Combine("tools");
        Run.Checked("dotnet", ["tool", "install", "xar", "--tool-path", tools, "--configfile", config],
            environment: new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Workspace.Combine("nuget-packages") }, workingDirectory: Workspace.Root);
        string xar = Path.Combine(tools, "xar");

        string app = RawApplication("tool-app");
        UserBuild(xar, ["--raw", app, "--exec", "run.sh", "-o", "raw.xar"]);
        Workspace.Launch(Workspace.Combine("raw.xar"), ["a b", "c"]).Should().Be(new RunResult(0, "raw: [a b] [c]\n", ""));

        UserBuild(xar, [Repository.Example("py-hello"), "--python", Interpreters.ExamplePython, "--no-index", "--find-links", Interpreters.WheelData,
            "-o", "hello.xar"]);
        var hello = Workspace.Launch(Workspace.Combine("hello.xar"), ["x"]);
        hello.ExitCode.Should().Be(0, hello.ToString());
        hello.Stdout.Should().StartWith($"hello from hello.xar 1.0.0 (Python {Interpreters.ExampleSeries})\n").And.EndWith("arg 1: [x]\n");
    }

    [Fact]
    public void The_native_executable_alone_builds_raw_and_python_self_archives_that_run_and_one_for_arm64()
    {
        string alone = Workspace.Combine("alone", "xar");
        Directory.CreateDirectory(Path.GetDirectoryName(alone)!);
        File.Copy(Path.Combine(packed.Distribution, "xar"), alone);
        File.SetUnixFileMode(alone, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Native AOT: machine code only. A single-file bundle carries its assemblies as PE files
        // (185 of them, each with its DOS stub), which the runtime maps and compiles at every start.
        File.ReadAllBytes(alone).AsSpan().IndexOf("This program cannot be run in DOS mode"u8).Should().Be(-1, "no .NET assembly is inside");

        string app = RawApplication("single-file-app");
        UserBuild(alone, ["--raw", app, "--exec", "run.sh", "-o", "single.xar"]);
        Workspace.Launch(Workspace.Combine("single.xar"), ["d"]).Should().Be(new RunResult(0, "raw: [d]\n", ""));
        // The other machine's launcher is built in too (Arm64Tests run such archives under qemu).
        UserBuild(alone, ["--raw", app, "--exec", "run.sh", "--target", "linux-arm64", "-o", "single-arm64.xar"]);
        ElfObject.Read(Workspace.Combine("single-arm64.xar")).Machine.Should().Be(ElfObject.MachineAArch64);

        // What the native code must do as the JIT-compiled tool does: a project through the target's
        // pip and pyproject.toml, the interpreter's answers, the bundle, JSON reports, extraction.
        UserBuild(alone, [Repository.Example("py-hello"), "--python", Interpreters.ExamplePython, "--no-index", "--find-links", Interpreters.WheelData,
            "-o", "hello.xar"]);
        var hello = Workspace.Launch(Workspace.Combine("hello.xar"), ["y"]);
        hello.ExitCode.Should().Be(0, hello.ToString());
        hello.Stdout.Should().StartWith($"hello from hello.xar 1.0.0 (Python {Interpreters.ExampleSeries})\n").And.EndWith("arg 1: [y]\n");
        var verify = Run.Program(alone, ["verify", "--json", "hello.xar"], cleanEnvironment: true, workingDirectory: Workspace.Root);
        verify.ExitCode.Should().Be(0, verify.ToString());
        verify.Stdout.Should().Contain("\"format\": \"xar-verify/1\"").And.Contain("\"result\": \"verified\"");
        var extract = Run.Program(alone, ["extract", "hello.xar", "tree", "--quiet"], cleanEnvironment: true, workingDirectory: Workspace.Root);
        extract.ExitCode.Should().Be(0, extract.ToString());
        File.Exists(Workspace.Combine("tree", "__xar__", "bytecode.bundle")).Should().BeTrue();
    }

    private string RawApplication(string name)
    {
        string script = Workspace.Write(Path.Combine(name, "run.sh"), "#!/bin/sh\nprintf 'raw:'\nfor a in \"$@\"; do printf ' [%s]' \"$a\"; done\necho\n");
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        return Path.GetDirectoryName(script)!;
    }

    /// <summary>`xar build ARGS` in the workspace, in a clean environment: no XAR_LAUNCHER, no DOTNET_ROOT, PATH=/usr/bin:/bin.</summary>
    private void UserBuild(string xar, string[] arguments)
    {
        var result = Run.Program(xar, ["build", .. arguments], cleanEnvironment: true, workingDirectory: Workspace.Root, timeout: TimeSpan.FromMinutes(5));
        result.ExitCode.Should().Be(0, result.ToString());
    }
}
