using Xar.Cli;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>`xar build --raw`: any directory with an executable, in both layouts, run as real processes.</summary>
public sealed class RawBuildCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("raw");

    public void Dispose() => _temp.Dispose();

    private string App()
    {
        string dir = _temp.Combine("app");
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllText(Path.Combine(dir, "data/message"), "from the image");
        File.WriteAllText(Path.Combine(dir, "run.sh"), "#!/bin/sh\necho \"$(cat \"$(dirname \"$0\")/data/message\"): $*\"\nexit ${APP_STATUS:-0}\n");
        File.SetUnixFileMode(Path.Combine(dir, "run.sh"), (UnixFileMode)Convert.ToInt32("755", 8));
        return dir;
    }

    [Theory]
    [InlineData("self")]
    [InlineData("xarexec")]
    public void ARawArchiveRunsItsTargetWithArgumentsAndStatus(string layout)
    {
        string archive = _temp.Combine("app.xar");
        var (status, output, errors) = XarTool.Run("build", "--raw", App(), "--exec", "run.sh", "-o", archive, "--layout", layout, "--launcher", Launcher.Path);
        (status, errors).Should().Be((0, ""));
        output.Should().StartWith($"{archive}: ").And.Contain($"{layout} layout");
        XarTool.Run("verify", archive).Stdout.Should().StartWith($"{archive}: ok");

        var run = Launch(archive, layout, ["a b", "c"]);
        (run.ExitCode, run.Stdout).Should().Be((0, "from the image: a b c\n"));
        Launch(archive, layout, [], new Dictionary<string, string?> { ["APP_STATUS"] = "42" }).ExitCode.Should().Be(42);
    }

    [Fact]
    public void AnArchiveOfTheSameDirectoryIsByteIdentical()
    {
        string app = App();
        XarTool.Run("build", "--raw", app, "--exec", "run.sh", "-o", _temp.Combine("1.xar"), "--launcher", Launcher.Path);
        XarTool.Run("build", "--raw", app, "--exec", "run.sh", "-o", _temp.Combine("2.xar"), "--launcher", Launcher.Path);
        File.ReadAllBytes(_temp.Combine("1.xar")).Should().Equal(File.ReadAllBytes(_temp.Combine("2.xar")));
    }

    [Theory]
    [InlineData("missing.sh", "xar: --exec missing.sh: no such file in")]
    [InlineData("data/message", "xar: --exec data/message: not executable (chmod +x it)")]
    [InlineData("../escape.sh", "xar: --exec ../escape.sh: must be a path relative to")]
    public void ABadTargetIsRefusedAndNothingIsWritten(string exec, string expected)
    {
        string archive = _temp.Combine("bad.xar");
        var (status, _, errors) = XarTool.Run("build", "--raw", App(), "--exec", exec, "-o", archive, "--layout", "xarexec");
        status.Should().Be(XarCommandLine.ExitFailure);
        errors.Should().StartWith(expected);
        Directory.GetFiles(_temp.Path).Should().BeEmpty();
    }

    /// <summary>
    /// The original xarexec_fuse runs <c>/bin/sh -e &lt;mount&gt;/&lt;XAREXEC_TARGET&gt; &lt;archive&gt; ARGS…</c>.
    /// A raw xarexec-layout archive must give its target the same argv under it as under our
    /// launcher: a shell script and an ELF program print their argv both ways.
    /// </summary>
    [Theory]
    [InlineData("script")]
    [InlineData("elf")]
    public void UnderTheOriginalRuntimesConventionARawTargetGetsTheSameArgvAsUnderOurs(string kind)
    {
        string dir = _temp.Combine("argv-app");
        Directory.CreateDirectory(Path.Combine(dir, "bin"));
        string program = Path.Combine(dir, "bin", "show argv");
        if (kind == "script")
        {
            File.WriteAllText(program, "#!/bin/sh\nprintf '[%s]' \"$0\" \"$@\"\necho\n");
            File.SetUnixFileMode(program, (UnixFileMode)Convert.ToInt32("755", 8));
        }
        else
        {
            string source = _temp.Combine("argv.c");
            File.WriteAllText(source, "#include <stdio.h>\nint main(int c, char **v) { for (int i = 0; i < c; i++) printf(\"[%s]\", v[i]); printf(\"\\n\"); return 3; }\n");
            Run.Checked("cc", ["-o", program, source]);
        }
        string archive = _temp.Combine("argv.xar");
        XarTool.Run("build", "--raw", dir, "--exec", "bin/show argv", "-o", archive, "--layout", "xarexec").ExitCode.Should().Be(0);
        using (var opened = Xar.Archive.XarArchive.Open(archive))
            (opened.Header.XarexecTarget, opened.Header.Target).Should().Be(("__xar__/exec.sh", "bin/show argv"));

        string[] arguments = ["one", "two words", "-x", "it's"];
        var ours = Run.Program(Launcher.Path, [archive, .. arguments], workingDirectory: "/");
        // The tree our launcher ran from is the mount it made (or reused): run the original's command line there.
        string mount = Run.Checked(Launcher.Path, ["-m", archive]).Trim();
        RunResult original;
        try
        {
            original = Run.Program("/bin/sh", ["-e", Path.Combine(mount, "__xar__/exec.sh"), archive, .. arguments], workingDirectory: "/");
        }
        finally
        {
            Mounts.Detach(mount);
        }

        ours.Stdout.Should().Be($"[{mount}/bin/show argv][one][two words][-x][it's]\n");
        (original.ExitCode, original.Stdout, original.Stderr).Should().Be((ours.ExitCode, ours.Stdout, ours.Stderr));
        ours.ExitCode.Should().Be(kind == "elf" ? 3 : 0);
    }

    [Fact]
    public void AnXarexecLayoutRawBuildRefusesADirectoryThatHasTheWrappersPath()
    {
        string dir = App();
        Directory.CreateDirectory(Path.Combine(dir, "__xar__"));
        File.WriteAllText(Path.Combine(dir, "__xar__/exec.sh"), "mine");
        var (status, _, errors) = XarTool.Run("build", "--raw", dir, "--exec", "run.sh", "-o", _temp.Combine("taken.xar"), "--layout", "xarexec");
        status.Should().Be(XarCommandLine.ExitFailure);
        errors.Should().Contain("__xar__/exec.sh is taken");
        File.Exists(_temp.Combine("taken.xar")).Should().BeFalse();
    }

    /// <summary>Runs the archive from /: itself in the self layout, through the launcher in the xarexec layout.</summary>
    private static RunResult Launch(string archive, string layout, string[] arguments, IReadOnlyDictionary<string, string?>? environment = null) =>
        layout == "self"
            ? Run.Program(archive, arguments, environment, workingDirectory: "/")
            : Run.Program(Launcher.Path, [archive, .. arguments], environment, workingDirectory: "/");
}
