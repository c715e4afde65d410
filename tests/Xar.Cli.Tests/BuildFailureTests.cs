using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// What a user gets wrong or a broken input: each one fails with a clear message on stderr (no
/// stack trace), a non-zero exit, and no archive left behind.
/// </summary>
public sealed class BuildFailureTests : IDisposable
{
    private const string Module = "def main():\n    print('tiny')\n";

    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private string Output => _workspace.Combine("out.xar");

    private static string Python311 => Path.Combine(Interpreters.Pyenv311, "bin", "python3.11");

    private static TestWheel Tiny => new()
    {
        Name = "tiny",
        EntryPoints = "[console_scripts]\ntiny = tiny:main\n",
        Files = new Dictionary<string, string> { ["tiny.py"] = Module },
    };

    /// <summary>Runs `xar build`; it must fail with exactly <paramref name="lines"/> lines on stderr, the first starting "xar: ".</summary>
    private string BuildShouldFail(int lines, params string[] arguments)
    {
        var result = XarTool.Run(["build", .. arguments, "-o", Output, "--launcher", Launcher.Path]);

        result.ExitCode.Should().Be(XarCommandLine.ExitFailure, result.ToString());
        result.Stdout.Should().BeEmpty();
        result.Stderr.Should().StartWith("xar: ").And.EndWith("\n").And.NotContain("   at ");
        result.Stderr.TrimEnd('\n').Split('\n').Should().HaveCount(lines, result.Stderr);
        File.Exists(Output).Should().BeFalse("a failed build leaves no archive");
        Directory.EnumerateFiles(_workspace.Root, ".out.xar.*").Should().BeEmpty("nor a temporary file");
        return result.Stderr;
    }

    [Fact]
    public void A_requirement_missing_from_the_environment_and_one_installed_at_the_wrong_version_are_both_listed()
    {
        string site = _workspace.Combine("env", "site-packages");
        Install(site, "app", "1.0", "Requires-Dist: absent-dependency>=1\nRequires-Dist: old-dependency>=2\n");
        Install(site, "old-dependency", "1.5", "");

        string message = BuildShouldFail(3, "--from-env", site, "app", "--python", Python311);

        message.Should().StartWith($"xar: Cannot satisfy the requirements from {site} for ");
        message.Should().Contain($"\n  absent-dependency>=1 (required by app 1.0): not installed in {site}\n");
        message.Should().MatchRegex(@"\n  old-dependency>=2 \(required by app 1\.0\): [^\n]*1\.5");
    }

    [Fact]
    public void A_wheel_for_another_platform_is_not_used()
    {
        string wheel = (Tiny with { Tag = "cp311-cp311-macosx_11_0_arm64" }).WriteTo(_workspace.Combine("wheels"));

        string message = BuildShouldFail(2, "--wheels", wheel, "tiny", "--python", Python311);

        message.Should().Contain("tiny (required by the request): no usable wheel: tiny-1.0-cp311-cp311-macosx_11_0_arm64.whl (tags not supported by ");
    }

    [Fact]
    public void A_truncated_wheel_is_refused()
    {
        string wheel = Tiny.WriteTo(_workspace.Combine("wheels"));
        byte[] whole = File.ReadAllBytes(wheel);
        File.WriteAllBytes(wheel, whole[..(whole.Length * 2 / 3)]);

        string message = BuildShouldFail(1, "--wheels", wheel, "tiny", "--python", Python311);

        message.Should().StartWith($"xar: {wheel}: not a readable zip file");
    }

    [Fact]
    public void A_file_whose_hash_differs_from_RECORD_is_refused()
    {
        string wheel = (Tiny with
        {
            EditRecord = rows => rows.Select(r => r[0] == "tiny.py" ? [r[0], "sha256=" + TestWheel.UrlSafeHash("something else"u8.ToArray()), r[2]] : r),
        }).WriteTo(_workspace.Combine("wheels"));

        string message = BuildShouldFail(1, "--wheels", wheel, "tiny", "--python", Python311);

        message.Should().StartWith($"xar: {wheel}: tiny.py: its sha256 is ").And.Contain(", RECORD says ");
    }

    [Theory]
    [InlineData("../escaped.py")]
    [InlineData("tiny_data/../../escaped.py")]
    [InlineData("/tmp/escaped.py")]
    public void A_member_that_would_land_outside_the_image_directory_is_refused(string member)
    {
        string wheel = (Tiny with { Files = new Dictionary<string, string> { ["tiny.py"] = Module, [member] = "print('escaped')\n" } })
            .WriteTo(_workspace.Combine("wheels"));

        string message = BuildShouldFail(1, "--wheels", wheel, "tiny", "--python", Python311);

        message.Should().StartWith($"xar: {wheel}: ").And.Contain(member);
        File.Exists("/tmp/escaped.py").Should().BeFalse();
    }

    [Fact]
    public void An_output_in_a_missing_directory_is_refused_before_building()
    {
        string wheel = Tiny.WriteTo(_workspace.Combine("wheels"));
        string output = _workspace.Combine("no-such-directory", "out.xar");

        var result = XarTool.Run("build", "--wheels", wheel, "tiny", "--python", Python311, "-o", output, "--launcher", Launcher.Path);

        result.Should().Be(new RunResult(XarCommandLine.ExitFailure, "", $"xar: -o {output}: no such directory {Path.GetDirectoryName(output)}\n"));
    }

    /// <summary>
    /// "--wheels DIR NAME" hands NAME to --wheels too; a directory of that name in the current
    /// directory (a checkout of the application, say) must not turn the requirement into a wheel source.
    /// </summary>
    [Fact]
    public void A_requirement_named_like_a_directory_in_the_current_one_is_still_a_requirement()
    {
        string wheels = _workspace.Combine("wheels");
        Tiny.WriteTo(wheels);
        Directory.CreateDirectory(_workspace.Combine("tiny"));

        var result = XarTool.RunIn(_workspace.Root, "build", "--wheels", "wheels", "tiny", "--python", Python311, "-o", Output, "--launcher", Launcher.Path);

        (result.ExitCode, result.Stderr).Should().Be((0, ""));
        _workspace.Launch(Output).Should().Be(new RunResult(0, "tiny\n", ""));
    }

    /// <summary>Offline without --find-links, pip cannot install the build backend; its last line is only "note: This error originates from a subprocess".</summary>
    [Fact]
    public void A_project_whose_build_fails_in_pip_shows_pips_cause_in_one_line()
    {
        string project = Project("needs-backend", "dependencies = []");

        string message = BuildShouldFail(1, project, "--python", Python311, "--no-index");

        message.Should().StartWith($"xar: {project}: pip wheel failed (exit 1) in: pip subprocess to install build dependencies did not run successfully: ");
        message.Should().Contain("ERROR: No matching distribution found for setuptools").And.NotContain("note:");
    }

    [Fact]
    public void A_project_directory_given_with_from_env_is_named_as_such()
    {
        string project = Project("app", "dependencies = []");
        string site = _workspace.Combine("env", "site-packages");
        Directory.CreateDirectory(site);

        string message = BuildShouldFail(1, project, "--from-env", site, "--python", Python311);

        message.Should().StartWith($"xar: --from-env {site}: {project} is a project directory, but --from-env takes the names of distributions installed there; ");
    }

    private string Project(string name, string dependencies)
    {
        string directory = _workspace.Combine("projects", name);
        Directory.CreateDirectory(Path.Combine(directory, name.Replace('-', '_')));
        File.WriteAllText(Path.Combine(directory, name.Replace('-', '_'), "__init__.py"), "");
        File.WriteAllText(Path.Combine(directory, "pyproject.toml"),
            $"[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"{name}\"\nversion = \"1.0\"\n{dependencies}\n");
        return directory;
    }

    /// <summary>
    /// Built for CPython 3.12 through a link that is then removed, as on a host with another
    /// Python: the recorded interpreter is gone and PATH (/usr/bin:/bin) has python3.11 but no
    /// python3.12. The launcher names what the archive needs and every place it looked.
    /// </summary>
    [Fact]
    public void An_archive_for_a_Python_the_host_does_not_have_fails_with_one_line_from_the_launcher()
    {
        string python = _workspace.Combine("python", "bin", "python3.12");
        Directory.CreateDirectory(Path.GetDirectoryName(python)!);
        File.CreateSymbolicLink(python, Path.Combine(Interpreters.Pyenv312, "bin", "python3.12"));
        string wheel = Tiny.WriteTo(_workspace.Combine("wheels"));
        string archive = XarTool.Build(_workspace.Combine("tiny312.xar"), "--wheels", wheel, "tiny", "--python", python);
        var withInterpreter = _workspace.Launch(archive);
        File.Delete(python);

        var result = _workspace.Launch(archive);

        withInterpreter.Should().Be(new RunResult(0, "tiny\n", ""));
        File.Exists("/usr/bin/python3.11").Should().BeTrue("the host has a Python, only not the one the archive needs");
        result.Should().Be(new RunResult(127, "",
            $"xarexec: {archive}: needs cpython-3.12 (cp312); tried {python}, then python3.12 on PATH (/usr/bin:/bin)\n"));
    }

    /// <summary>A .dist-info as pip writes it: METADATA and a RECORD (a distribution with no files of its own).</summary>
    private static void Install(string site, string name, string version, string requirements)
    {
        string distInfo = Path.Combine(site, $"{name.Replace('-', '_')}-{version}.dist-info");
        Directory.CreateDirectory(distInfo);
        File.WriteAllText(Path.Combine(distInfo, "METADATA"), $"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requirements}");
        File.WriteAllText(Path.Combine(distInfo, "RECORD"), $"{Path.GetFileName(distInfo)}/METADATA,,\n{Path.GetFileName(distInfo)}/RECORD,,\n");
    }
}
