using System.Security.Cryptography;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// `xar build --lock pylock.toml` and `xar build --wheels DIR -r requirements.txt` with hashes:
/// lock and requirements files written by hand for wheels the tests write, hashed from the files.
/// Archives are run; failures are one line, with nothing written.
/// </summary>
public sealed class LockedBuildTests : IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private string Output => _workspace.Combine("out.xar");

    private static string Python311 => Path.Combine(Interpreters.Pyenv311, "bin", "python3.11");

    private string Wheels => _workspace.Combine("wheels");

    private string App => new TestWheel
    {
        Name = "app",
        RequiresDist = ["helper"],
        EntryPoints = "[console_scripts]\napp = app:main\n",
        Files = new Dictionary<string, string> { ["app.py"] = "import helper\n\ndef main():\n    print('app with', helper.NAME)\n" },
    }.WriteTo(Wheels);

    private string Helper => new TestWheel { Name = "helper", Version = "2.0", Files = new Dictionary<string, string> { ["helper.py"] = "NAME = 'helper 2.0'\n" } }.WriteTo(Wheels);

    private static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    private string Lock(string helperHash) => _workspace.Write("lock/pylock.toml", $$"""
        lock-version = "1.0"
        requires-python = ">=3.8"
        created-by = "hand"

        [[packages]]
        name = "app"
        version = "1.0"
        wheels = [{ name = "app-1.0-py3-none-any.whl", url = "https://files.example/app-1.0-py3-none-any.whl", hashes = { sha256 = "{{Sha256(App)}}" } }]

        [[packages]]
        name = "helper"
        version = "2.0"
        wheels = [{ path = "../wheels/helper-2.0-py3-none-any.whl", hashes = { sha256 = "{{helperHash}}" } }]

        [[packages]]
        name = "colorama"
        version = "0.4.6"
        marker = "sys_platform == 'win32'"
        wheels = [{ name = "colorama-0.4.6-py2.py3-none-any.whl", hashes = { sha256 = "{{new string('c', 64)}}" } }]
        """);

    private RunResult Build(params string[] arguments) =>
        XarTool.Run(["build", .. arguments, "--python", Python311, "-o", Output, "--launcher", Launcher.Path]);

    private void ShouldFailInOneLine(RunResult result, string line)
    {
        result.Should().Be(new RunResult(XarCommandLine.ExitFailure, "", $"xar: {line}\n"));
        File.Exists(Output).Should().BeFalse("a failed build leaves no archive");
        Directory.EnumerateFiles(_workspace.Root, ".out.xar.*").Should().BeEmpty("nor a temporary file");
    }

    [Fact]
    public void A_locked_application_builds_from_the_wheels_by_path_and_by_name_and_runs()
    {
        string lockFile = Lock(Sha256(Helper));

        var result = Build("--lock", lockFile, "--wheels", Wheels, "app");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stderr.Should().Be($"xar: warning: {lockFile}: colorama 0.4.6: skipped, its marker 'sys_platform == \"win32\"' does not hold for {PythonDescription()}\n");
        _workspace.Launch(Output).Should().Be(new RunResult(0, "app with helper 2.0\n", ""));
    }

    [Fact]
    public void A_locked_wheel_whose_hash_differs_fails_in_one_line_naming_it_and_writes_nothing()
    {
        string helper = Helper;
        string wrong = new('0', 64);

        var result = Build("--lock", Lock(wrong), "--wheels", Wheels, "app");

        ShouldFailInOneLine(result, $"{helper}: sha256 mismatch: expected {wrong}, got {Sha256(helper)}");
    }

    [Fact]
    public void A_hashed_requirements_file_builds_with_every_wheel_checked_and_runs()
    {
        string requirements = _workspace.Write("requirements.txt",
            $"app==1.0 \\\n    --hash=sha256:{Sha256(App)}\nhelper==2.0 \\\n    --hash=sha256:{new string('f', 64)} \\\n    --hash=sha256:{Sha256(Helper)}\n");

        var result = Build("--wheels", Wheels, "-r", requirements);

        (result.ExitCode, result.Stderr).Should().Be((0, ""));
        _workspace.Launch(Output).Should().Be(new RunResult(0, "app with helper 2.0\n", ""));
    }

    [Fact]
    public void A_hashed_requirement_whose_wheel_differs_fails_in_one_line_and_writes_nothing()
    {
        string helper = Helper;
        string wrong = new('9', 64);
        string requirements = _workspace.Write("requirements.txt", $"app==1.0 --hash=sha256:{Sha256(App)}\nhelper==2.0 --hash=sha256:{wrong}\n");

        var result = Build("--wheels", Wheels, "-r", requirements);

        ShouldFailInOneLine(result, $"{helper}: sha256 mismatch: expected {wrong}, got {Sha256(helper)}");
    }

    [Fact]
    public void With_require_hashes_an_unhashed_requirement_fails_before_anything_is_built()
    {
        _ = Helper;
        string requirements = _workspace.Write("requirements.txt", $"app==1.0 --hash=sha256:{Sha256(App)}\n");

        var result = Build("--wheels", Wheels, "-r", requirements, "--require-hashes", "helper");

        result.ExitCode.Should().Be(XarCommandLine.ExitFailure);
        result.Stderr.Should().Be("xar: Hash-checking mode:\n  the command line: helper: not pinned with == (hash-checking mode pins every requirement)\n"
            + "  the command line: helper: no --hash (hash-checking mode: when any requirement has a hash, or with --require-hashes, every one needs one)\n");
        File.Exists(Output).Should().BeFalse();
    }

    [Fact]
    public void A_project_with_bad_TOML_fails_in_one_line_naming_the_line_and_column_before_pip_runs()
    {
        string pyproject = _workspace.Write("project/pyproject.toml", "[project]\nname = \"p\"\nversion = \"1.0\"\n\n[tool.xar]\nentry = 'unterminated\n");

        var result = Build(Path.GetDirectoryName(pyproject)!);

        result.ExitCode.Should().Be(XarCommandLine.ExitFailure);
        result.Stderr.Should().MatchRegex($"^xar: {System.Text.RegularExpressions.Regex.Escape(pyproject)}:6:[0-9]+: invalid TOML: [^\n]+\n$");
        File.Exists(Output).Should().BeFalse();
    }

    private static string PythonDescription() =>
        Xar.Python.Distributions.TargetInterpreter.Probe(Python311).Description;
}
