using System.Text.Json;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// The progress display and the build summary (docs/progress.md): on a terminal (a pty made by
/// `script`) on stderr; in a pipe, with --quiet or with stderr elsewhere, none of it. The build
/// summary's figures (`build --json`) are checked against what `ls --json` and `info --json`
/// read from the archive.
/// </summary>
public sealed class ProgressDisplayTests : IDisposable
{
    private static readonly string Xar = typeof(XarCommandLine).Assembly.Location.Replace(".dll", "");
    private const string HideCursor = "\e[?25l";
    private const string Colour = "\e[38;5;";

    private readonly TempDirectory _temp = new("progress");

    public void Dispose() => _temp.Dispose();

    /// <summary>An executable, a text file, one random file in three copies and an empty file.</summary>
    private string Tree()
    {
        string tree = _temp.Combine("tree");
        _temp.Write("tree/run.sh", "#!/bin/sh\necho hi\n", (UnixFileMode)0b111_101_101);
        _temp.Write("tree/notes.txt", "some notes\n");
        var random = new byte[300_000];
        new Random(11).NextBytes(random);
        foreach (string copy in new[] { "a.bin", "sub/b.bin", "sub/c.bin" })
            _temp.Write($"tree/{copy}", random);
        _temp.Write("tree/empty", "");
        return tree;
    }

    private string[] BuildArguments(string output, params string[] more) =>
        ["build", "--raw", Tree(), "--exec", "run.sh", "--layout", "xarexec", "-o", output, .. more];

    /// <summary>Runs `xar ARGS [redirection]` on a pseudo-terminal; returns what the terminal received (stdout and stderr together).</summary>
    private static string OnTerminal(string[] arguments, string redirection = "", IReadOnlyDictionary<string, string?>? environment = null)
    {
        string command = string.Join(' ', new[] { Xar }.Concat(arguments).Select(a => $"'{a}'")) + redirection;
        var variables = new Dictionary<string, string?> { ["TERM"] = "xterm-256color", ["NO_COLOR"] = null, ["COLUMNS"] = "120" };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) variables[name] = value;
        var result = Run.Program("script", ["-qfec", command, "/dev/null"], variables);
        result.ExitCode.Should().Be(0, result.ToString());
        return result.Stdout;
    }

    [Fact]
    public void Build_on_a_terminal_shows_the_phases_and_the_summary()
    {
        string output = _temp.Combine("app.xar");

        string terminal = OnTerminal(BuildArguments(output));

        terminal.Should().Contain(HideCursor, "the live display is drawn").And.Contain("\e[?25h", "and the cursor given back");
        // Earlier phases may pass between two refreshes; the last state is always drawn.
        terminal.Should().Contain("writing image  6/6  879.2 KiB/879.2 KiB");
        terminal.Should().Contain("xar build: summary").And.Contain($"{output}: ", "the result line is there too");
        Plain(terminal).Should().MatchRegex(@"files\s+7 \(")
            .And.MatchRegex(@"duplicates\s+2 files stored once, 585\.9 KiB saved")
            .And.MatchRegex(@"bytecode\s+none").And.MatchRegex(@"time\s+\d+\.\d s");
        terminal.Should().Contain(Colour);
    }

    [Fact]
    public void On_a_terminal_stdout_gets_only_the_result_line()
    {
        string output = _temp.Combine("app.xar");

        string terminal = OnTerminal(BuildArguments(output), " 2>/dev/null");

        // .NET's own terminal set-up (keypad mode) comes first whatever xar prints.
        terminal.Replace("\e[?1h\e=", "").Should().Be($"{output}: {new FileInfo(output).Length:N0} bytes, xarexec layout, image sha256 {Workspace.ImageSha256(output)[..16]}…\r\n");
    }

    [Fact]
    public void In_a_pipe_there_is_no_progress_and_no_summary()
    {
        string output = _temp.Combine("app.xar");

        var result = Run.Program(Xar, BuildArguments(output), new Dictionary<string, string?> { ["TERM"] = "xterm-256color" });

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stderr.Should().BeEmpty();
        result.Stdout.Should().Be($"{output}: {new FileInfo(output).Length:N0} bytes, xarexec layout, image sha256 {Workspace.ImageSha256(output)[..16]}…\n");
    }

    [Fact]
    public void Quiet_prints_nothing_even_on_a_terminal()
    {
        string output = _temp.Combine("app.xar");

        OnTerminal(BuildArguments(output, "--quiet")).Should().BeEmpty();
        File.Exists(output).Should().BeTrue();
        OnTerminal(["extract", output, _temp.Combine("out"), "-q"]).Should().BeEmpty();
        File.ReadAllText(_temp.Combine("out", "notes.txt")).Should().Be("some notes\n");
    }

    [Fact]
    public void A_dumb_terminal_gets_the_summary_without_a_live_display_or_colours()
    {
        string terminal = OnTerminal(BuildArguments(_temp.Combine("app.xar")), environment: new Dictionary<string, string?> { ["TERM"] = "dumb" });

        terminal.Should().NotContain("\e[").And.NotContain("writing image");
        terminal.Should().Contain("xar build: summary").And.MatchRegex(@"duplicates\s+2 files stored once");
        terminal.Should().NotContain(HideCursor);
    }

    [Fact]
    public void No_color_keeps_the_display_without_colours()
    {
        string terminal = OnTerminal(BuildArguments(_temp.Combine("app.xar")), environment: new Dictionary<string, string?> { ["NO_COLOR"] = "1" });

        terminal.Should().Contain(HideCursor).And.Contain("writing image").And.Contain("xar build: summary");
        terminal.Should().NotContain(Colour);
    }

    [Fact]
    public void Extract_on_a_terminal_shows_files_and_bytes_and_in_a_pipe_only_its_result()
    {
        string archive = _temp.Combine("app.xar");
        XarTool.Run(BuildArguments(archive)).ExitCode.Should().Be(0);

        string terminal = OnTerminal(["extract", archive, _temp.Combine("shown")]);
        var piped = Run.Program(Xar, ["extract", archive, _temp.Combine("piped")]);

        terminal.Should().Contain(HideCursor).And.MatchRegex(@"extracting  7/7  87\d\.\d KiB/87\d\.\d KiB");
        piped.ExitCode.Should().Be(0, piped.ToString());
        piped.Stderr.Should().BeEmpty();
        piped.Stdout.Should().StartWith($"{_temp.Combine("piped")}: 7 files (900,");
    }

    [Fact]
    public void Squashfs_create_on_a_terminal_shows_the_image_being_written()
    {
        string terminal = OnTerminal(["squashfs", "create", Tree(), _temp.Combine("tree.sqfs")]);

        terminal.Should().Contain(HideCursor).And.Contain("writing image  5/5");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Build_json_figures_are_what_the_archive_holds(bool dedup)
    {
        string output = _temp.Combine("app.xar");
        var result = XarTool.Run([.. BuildArguments(output, dedup ? [] : ["--no-dedup"]), "--json"]);
        result.ExitCode.Should().Be(0, result.ToString());
        var build = JsonDocument.Parse(result.Stdout).RootElement;

        var entries = Json("ls", output, "-R", "--json").GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == "file").ToList();
        var info = Json("info", output, "--json");
        build.GetProperty("format").GetString().Should().Be("xar-build/1");
        build.GetProperty("inputs").GetString().Should().Be($"directory {_temp.Combine("tree")}");
        build.GetProperty("files").GetInt64().Should().Be(entries.Count);
        build.GetProperty("fileBytes").GetInt64().Should().Be(entries.Sum(e => e.GetProperty("size").GetInt64()));
        build.GetProperty("archiveBytes").GetInt64().Should().Be(new FileInfo(output).Length);
        build.GetProperty("imageOffset").GetInt64().Should().Be(info.GetProperty("archive").GetProperty("imageOffset").GetInt64());
        build.GetProperty("imageLength").GetInt64().Should().Be((info.GetProperty("image").GetProperty("bytesUsed").GetInt64() + 4095) / 4096 * 4096);
        build.GetProperty("imageSha256").GetString().Should().Be(Workspace.ImageSha256(output));
        // The three copies of a.bin: two stored as the first.
        build.GetProperty("duplicateFiles").GetInt64().Should().Be(dedup ? 2 : 0);
        build.GetProperty("duplicateBytes").GetInt64().Should().Be(dedup ? 600_000 : 0);
        build.GetProperty("compiled").GetInt64().Should().Be(0);
    }

    [Fact]
    public void Build_json_counts_the_modules_compiled_for_a_python_archive()
    {
        string output = _temp.Combine("flask.xar");
        var result = XarTool.Run("build", "--from-env", Interpreters.Pyenv311, "flask", "--layout", "xarexec", "-o", output, "--json");
        result.ExitCode.Should().Be(0, result.ToString());
        var build = JsonDocument.Parse(result.Stdout).RootElement;

        var files = Json("ls", output, "-R", "--json").GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == "file").Select(e => e.GetProperty("path").GetString()!).ToList();
        build.GetProperty("inputs").GetString().Should().MatchRegex(@"^\d+ distributions \([Ff]lask ");
        // Each library module's code is stored once, in the bundle (flask's sources all compile); the
        // bootstrap's own modules keep their pycs as files.
        int librarySources = files.Count(f => f.StartsWith("/lib/python/", StringComparison.Ordinal) && f.EndsWith(".py", StringComparison.Ordinal));
        int pycFiles = files.Count(f => f.EndsWith(".pyc", StringComparison.Ordinal));
        pycFiles.Should().BeLessThan(5, "only the bootstrap's pycs are files");
        build.GetProperty("compiled").GetInt64().Should().Be(librarySources + pycFiles).And.BeGreaterThan(100);
        build.GetProperty("files").GetInt64().Should().Be(files.Count);
    }

    /// <summary>The text without its escape sequences (colours, cursor movements).</summary>
    private static string Plain(string terminal) => System.Text.RegularExpressions.Regex.Replace(terminal, @"\e(\[[0-9;?]*[A-Za-z]|=)", "");

    private static JsonElement Json(params string[] arguments)
    {
        var result = XarTool.Run(arguments);
        result.ExitCode.Should().Be(0, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement;
    }
}
