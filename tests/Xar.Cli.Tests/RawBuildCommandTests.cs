using System.Diagnostics;
using Xar.Cli;
using static Xar.Cli.Tests.CliRunner;

namespace Xar.Cli.Tests;

/// <summary>`xar build --raw`: any directory with an executable, in both layouts, run as real processes.</summary>
public sealed class RawBuildCommandTests : IDisposable
{
    private static readonly Lazy<string> Launcher = new(PublishLauncher);
    private readonly string _temp = Directory.CreateTempSubdirectory("xar-raw-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string App()
    {
        string dir = Path.Combine(_temp, "app");
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
        string archive = Path.Combine(_temp, "app.xar");
        var (status, output, errors) = RunXar("build", "--raw", App(), "--exec", "run.sh", "-o", archive, "--layout", layout, "--launcher", Launcher.Value);
        (status, errors).Should().Be((0, ""));
        output.Should().StartWith($"{archive}: ").And.Contain($"{layout} layout");
        RunXar("verify", archive).Output.Should().StartWith($"{archive}: ok");

        var run = layout == "self" ? Run(archive, ["a b", "c"]) : Run(Launcher.Value, [archive, "a b", "c"]);
        run.Should().Be((0, "from the image: a b c\n"));
        (layout == "self" ? Run(archive, [], ("APP_STATUS", "42")) : Run(Launcher.Value, [archive], ("APP_STATUS", "42"))).Status.Should().Be(42);
    }

    [Fact]
    public void AnArchiveOfTheSameDirectoryIsByteIdentical()
    {
        string app = App();
        RunXar("build", "--raw", app, "--exec", "run.sh", "-o", Path.Combine(_temp, "1.xar"), "--launcher", Launcher.Value);
        RunXar("build", "--raw", app, "--exec", "run.sh", "-o", Path.Combine(_temp, "2.xar"), "--launcher", Launcher.Value);
        File.ReadAllBytes(Path.Combine(_temp, "1.xar")).Should().Equal(File.ReadAllBytes(Path.Combine(_temp, "2.xar")));
    }

    [Theory]
    [InlineData("missing.sh", "xar: --exec missing.sh: no such file in")]
    [InlineData("data/message", "xar: --exec data/message: not executable (chmod +x it)")]
    [InlineData("../escape.sh", "xar: --exec ../escape.sh: must be a path relative to")]
    public void ABadTargetIsRefusedAndNothingIsWritten(string exec, string expected)
    {
        string archive = Path.Combine(_temp, "bad.xar");
        var (status, _, errors) = RunXar("build", "--raw", App(), "--exec", exec, "-o", archive, "--layout", "xarexec");
        status.Should().Be(XarCommandLine.ExitFailure);
        errors.Should().StartWith(expected);
        Directory.GetFiles(_temp).Should().BeEmpty();
    }

    private static (int Status, string Output) Run(string file, string[] args, params (string, string)[] environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    /// <summary>The AOT launcher, published once by the repository's script (serialised across test processes).</summary>
    private static string PublishLauncher()
    {
        string repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "Xar.slnx"))) repo = Path.GetDirectoryName(repo)!;
        var start = new ProcessStartInfo(Path.Combine(repo, "scripts/publish-launcher")) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        string path = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        process.ExitCode.Should().Be(0, "scripts/publish-launcher must publish the launcher");
        return path;
    }
}
