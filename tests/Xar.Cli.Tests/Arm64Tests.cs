using Xar.Archive;
using Xar.Archive.Elf;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// Issue 11's arm64 acceptance: archives built here with `--target linux-arm64` run under
/// qemu-user in an arm64 Debian (<see cref="MinimalHost.Arm64WithPython"/>, about 7 minutes to
/// make once, then cached) with the same output as the x86-64 archive of the same input natively.
/// Category Acceptance, as the other tests on minimal roots: the arm64 root and the cross-compiled
/// launcher take minutes to make the first time.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class Arm64Tests : IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void An_arm64_raw_archive_of_a_script_runs_under_qemu_as_the_x86_64_one_runs_here()
    {
        string app = _workspace.Write("script-app/run.sh", "#!/bin/sh\nprintf 'raw:'\nfor a in \"$@\"; do printf ' [%s]' \"$a\"; done\necho\n");
        File.SetUnixFileMode(app, (UnixFileMode)0b111_101_101);

        var (native, underQemu) = BothWays(Path.GetDirectoryName(app)!, "run.sh", ["a b", "c"]);

        underQemu.Should().Be(native);
        native.Should().Be(new RunResult(0, "raw: [a b] [c]\n", ""));
    }

    [Fact]
    public void An_arm64_raw_archive_of_an_aarch64_program_runs_under_qemu_as_the_x86_64_build_of_it_runs_here()
    {
        string source = _workspace.Write("hello.c", """
            #include <stdio.h>
            int main(int argc, char **argv) {
                printf("C:");
                for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
                printf(" (%d bytes per pointer)\n", (int)sizeof(void *));
                return 3;
            }
            """);
        Directory.CreateDirectory(_workspace.Combine("c-x64"));
        Directory.CreateDirectory(_workspace.Combine("c-arm64"));
        Run.Checked("gcc", ["-O2", "-o", _workspace.Combine("c-x64", "hello"), source]);
        Run.Checked("aarch64-linux-gnu-gcc", ["-O2", "-o", _workspace.Combine("c-arm64", "hello"), source]);

        string x64 = XarTool.Build(_workspace.Combine("c-x64.xar"), "--raw", _workspace.Combine("c-x64"), "--exec", "hello");
        string arm64 = BuildArm64(_workspace.Combine("c-arm64.xar"), "--raw", _workspace.Combine("c-arm64"), "--exec", "hello");

        var native = _workspace.Launch(x64, ["x y"], _workspace.Extraction);
        native.Should().Be(new RunResult(3, "C: [x y] (8 bytes per pointer)\n", ""));
        RunInArm64Root(arm64, ["x y"]).Should().Be(native);
    }

    [Fact]
    public void An_arm64_python_archive_from_a_pure_wheel_runs_under_qemu_with_debians_arm64_python_as_the_x86_64_one_runs_here()
    {
        string wheels = _workspace.Combine("wheels");
        Run.Checked(Python311, ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "--find-links", Interpreters.WheelData,
            "--disable-pip-version-check", Repository.Example("py-hello"), "-w", wheels]);

        string x64 = XarTool.Build(_workspace.Combine("hello.xar"), "--wheels", wheels, "xar-example-hello", "--entry", "hello", "--python", Python311);
        string arm64 = BuildArm64(_workspace.Combine("hello-arm64.xar"), "--wheels", wheels, "xar-example-hello", "--entry", "hello", "--python-version", "3.11", "--python", Python311);

        var native = _workspace.Launch(x64, ["x"], _workspace.Extraction);
        native.ExitCode.Should().Be(0, native.ToString());
        native.Stdout.Should().StartWith("hello from hello.xar 1.0.0 (Python 3.11)\n");
        var underQemu = RunInArm64Root(arm64, ["x"]);
        // The archive's name and where it is extracted differ; the rest is the same.
        Normalized(underQemu.Stdout.Replace("hello-arm64.xar", "hello.xar")).Should().Be(Normalized(native.Stdout), underQemu.ToString());
        underQemu.ExitCode.Should().Be(0);
        Info(arm64).Should().Contain("XAR_PLATFORM").And.Contain("linux-arm64");
    }

    [Fact]
    public void An_x86_64_program_for_an_arm64_archive_is_one_line_naming_it_and_both_machines()
    {
        string app = _workspace.Combine("wrong");
        Directory.CreateDirectory(app);
        File.Copy("/bin/true", Path.Combine(app, "true"));

        var result = XarTool.Run("build", "--raw", app, "--exec", "true", "--target", "linux-arm64", "-o", _workspace.Combine("wrong.xar"), "--launcher", Launcher.Arm64Path);

        result.Should().Be(new RunResult(1, "", "xar: --exec true: an ELF object for x86-64, but the target is linux-arm64 (aarch64)\n"));
        File.Exists(_workspace.Combine("wrong.xar")).Should().BeFalse();
    }

    [Fact]
    public void A_binary_wheel_for_x86_64_does_not_fit_an_arm64_build_and_the_error_names_it_and_the_platform()
    {
        string wheels = _workspace.Combine("binary-wheels");
        Directory.CreateDirectory(wheels);
        var wheel = new TestWheel { Name = "fastthing", Tag = "cp311-cp311-manylinux2014_x86_64", Files = new Dictionary<string, string> { ["fastthing/__init__.py"] = "x = 1\n" } };
        wheel.WriteTo(wheels);

        var result = XarTool.Run("build", "--wheels", wheels, "fastthing", "--target", "linux-arm64", "--python-version", "3.11", "--python", Python311,
            "-o", _workspace.Combine("fast.xar"), "--launcher", Launcher.Arm64Path);

        result.ExitCode.Should().Be(1);
        result.Stderr.Should().Contain($"no usable wheel: {wheel.FileName} (tags not supported by {Python311} as on manylinux2014_aarch64");
        File.Exists(_workspace.Combine("fast.xar")).Should().BeFalse();
    }

    [Fact]
    public void A_standalone_arm64_build_from_an_x86_64_interpreter_is_refused_in_one_line()
    {
        string wheels = _workspace.Combine("pure-wheels");
        Directory.CreateDirectory(wheels);
        new TestWheel { Name = "purething", EntryPoints = "[console_scripts]\npurething = purething:main\n", Files = new Dictionary<string, string> { ["purething/__init__.py"] = "def main():\n    print('pure')\n" } }
            .WriteTo(wheels);

        var result = XarTool.Run("build", "--wheels", wheels, "purething", "--standalone", "--target", "linux-arm64", "--python-version", "3.11", "--python", Python311,
            "-o", _workspace.Combine("pure.xar"), "--launcher", Launcher.Arm64Path);

        result.Should().Be(new RunResult(1, "", $"xar: --standalone for linux-arm64: {Python311} runs on x86-64; a standalone archive carries its interpreter, "
            + "so build it from a linux-arm64 interpreter (or use --host-python)\n"));
        File.Exists(_workspace.Combine("pure.xar")).Should().BeFalse();
    }

    [Fact]
    public void A_launcher_for_another_machine_is_one_line_naming_it()
    {
        string app = _workspace.Write("script/run.sh", "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(app, (UnixFileMode)0b111_101_101);

        var result = XarTool.Run("build", "--raw", Path.GetDirectoryName(app)!, "--exec", "run.sh", "--target", "linux-arm64", "-o", _workspace.Combine("l.xar"), "--launcher", Launcher.Path);

        result.Should().Be(new RunResult(1, "", $"xar: --launcher {Launcher.Path}: an ELF object for x86-64, but the target is linux-arm64 (aarch64)\n"));
    }

    [Fact]
    public void The_arm64_launcher_is_an_aarch64_executable_that_runs_under_qemu()
    {
        ElfObject.Read(Launcher.Arm64Path).Machine.Should().Be(ElfObject.MachineAArch64);
        Qemu.RegisterAarch64();
        var usage = Run.Program(Launcher.Arm64Path, [], Qemu.HostEnvironment, cleanEnvironment: true);
        usage.ExitCode.Should().NotBe(0);
        usage.Stderr.Should().StartWith("xarexec: no archive given\n");
    }

    private static string Python311 => Path.Combine(Interpreters.Pyenv311, "bin", "python3.11");

    /// <summary>The directory as an x86-64 archive run here, and as an arm64 archive run in the arm64 root (both extracted).</summary>
    private (RunResult Native, RunResult UnderQemu) BothWays(string directory, string executable, string[] arguments)
    {
        string x64 = XarTool.Build(_workspace.Combine("x64.xar"), "--raw", directory, "--exec", executable);
        string arm64 = BuildArm64(_workspace.Combine("arm64.xar"), "--raw", directory, "--exec", executable);
        ElfObject.Read(arm64).Machine.Should().Be(ElfObject.MachineAArch64, "the self layout starts with the arm64 launcher");
        return (_workspace.Launch(x64, arguments, _workspace.Extraction), RunInArm64Root(arm64, arguments));
    }

    private static string BuildArm64(string output, params string[] arguments)
    {
        var result = XarTool.Run(["build", .. arguments, "--target", "linux-arm64", "-o", output, "--launcher", Launcher.Arm64Path]);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"xar build --target linux-arm64 {string.Join(' ', arguments)} failed: {result}");
        return output;
    }

    private static RunResult RunInArm64Root(string archive, string[] arguments)
    {
        var host = MinimalHost.Arm64WithPython;
        using var work = new TempDirectory("arm64-host");
        string name = Path.GetFileName(archive);
        File.Copy(archive, work.Combine(name));
        return host.Run(work.Path, ["./" + name, .. arguments], environment: new Dictionary<string, string?> { ["XAR_MODE"] = "extract" },
            timeout: TimeSpan.FromMinutes(3));
    }

    private static string Info(string archive)
    {
        var info = XarTool.Run("info", archive);
        info.ExitCode.Should().Be(0, info.ToString());
        return info.Stdout;
    }

    private static string Normalized(string output) => string.Join('\n', output.Split('\n').Select(line => line.StartsWith("running from /", StringComparison.Ordinal) ? "running from …" : line));
}
