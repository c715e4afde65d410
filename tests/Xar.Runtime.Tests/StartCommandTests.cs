using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>XAR_START_*: the launcher runs a start command without knowing what its program is (docs/launcher.md).</summary>
public sealed class StartCommandTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private string Archive(StartCommand start, XarLayout layout = XarLayout.Xarexec, IReadOnlyDictionary<string, string>? symlinks = null)
    {
        var header = new XarHeaderFields { Version = 1 };
        start.WriteTo(header);
        // XAREXEC_TARGET would exit 99: the start command must win over it.
        return _sandbox.Archive(TargetKind.Shell, layout, "run.sh", new Dictionary<string, string> { ["run.sh"] = "exit 99\n" },
            new Dictionary<string, string>(header.Extra), symlinks);
    }

    [Theory]
    [InlineData(XarLayout.Xarexec)]
    [InlineData(XarLayout.Self)]
    public void A_program_of_the_image_runs_with_the_template_then_the_arguments_and_the_variables_with_the_root_expanded(XarLayout layout)
    {
        string archive = Archive(new StartCommand
        {
            Programs = [StartCommand.InImage("no/such/program"), StartCommand.InImage(TestArchives.TargetPath)],
            Arguments = ["first word", "100%", "{root}/data.txt", "env:START_VARIABLE"],
            Environment = ["START_VARIABLE={root}/lib:$x \"q\""],
        }, layout);

        RunResult result = _sandbox.Launch(archive, ["read:data.txt", "it's"]);

        string root = result.Stdout.Split('\n').First(l => l.StartsWith("arg=[/", StringComparison.Ordinal))["arg=[".Length..^"/data.txt]".Length];
        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().EndWith(
            $"arg=[first word]\narg=[100%]\narg=[{root}/data.txt]\nSTART_VARIABLE={root}/lib:$x \"q\"\ndata from the image\narg=[it's]\n", result.ToString());
        root.Should().StartWith(_sandbox.MountRoot);
    }

    [Fact]
    public void A_program_of_the_image_is_resolved_inside_it_never_through_a_symlink_to_the_host()
    {
        string archive = Archive(new StartCommand { Programs = [StartCommand.InImage("bin/escape")] },
            symlinks: new Dictionary<string, string> { ["bin/escape"] = "/bin/sh" });

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().Be($"xarexec: {archive}: XAR_START_PROGRAM \"bin/escape\" does not resolve to a file in the image: /bin/escape is a symlink to /bin/sh, outside the image\n");
    }

    [Fact]
    public void Host_paths_and_names_on_PATH_are_tried_in_order_and_none_found_is_one_line_naming_each()
    {
        string empty = Path.Combine(_sandbox.Root, "empty");
        Directory.CreateDirectory(empty);
        string archive = Archive(new StartCommand
        {
            Programs = [StartCommand.InImage("opt/tool"), "/nonexistent/tool", "tool"],
            Needs = "a tool",
        });

        RunResult result = _sandbox.Launch(archive, extraEnvironment: new Dictionary<string, string?> { ["PATH"] = empty });
        File.CreateSymbolicLink(Path.Combine(empty, "tool"), "/bin/echo");
        RunResult found = _sandbox.Launch(archive, ["from", "PATH"], extraEnvironment: new Dictionary<string, string?> { ["PATH"] = empty });

        result.ExitCode.Should().Be((int)XarExitCode.TargetNotFound, result.ToString());
        result.Stderr.Should().MatchRegex($"^xarexec: {archive}: needs a tool; tried /[^ ]+/opt/tool, then /nonexistent/tool, then tool on PATH \\({empty}\\)\n$");
        found.Should().Be(new RunResult(0, "from PATH\n", ""));
    }

    [Fact]
    public void A_malformed_start_line_is_a_bad_archive_in_one_line()
    {
        string archive = _sandbox.Archive(extraHeader: new Dictionary<string, string> { [XarHeaderKeys.StartProgram] = "{root}/bin/app", [XarHeaderKeys.StartArguments] = "a%2" });

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().Be($"xarexec: {archive}: XAR_START_ARGS: '%' in \"a%2\" is not followed by two hex digits\n");
    }
}
