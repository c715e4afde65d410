using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>`xar cache list|prune|clear` on extractions made by real launches, one of them still running.</summary>
public sealed class CacheCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("cache-command");

    public void Dispose() => _temp.Dispose();

    private string CacheRoot => _temp.Combine("cache", "xar");

    /// <summary>The test's own roots: the machine's caches and mounts are not the test's to clear.</summary>
    private string[] Roots => ["--cache-root", CacheRoot, "--mount-root", _temp.Combine("mnt")];

    private string Archive(string name, string script)
    {
        string app = _temp.Combine(name);
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "run.sh"), script);
        File.SetUnixFileMode(Path.Combine(app, "run.sh"), (UnixFileMode)0x1ED);
        return XarTool.Build(_temp.Combine(name + ".xar"), "--raw", app, "--exec", "run.sh", "--layout", "xarexec");
    }

    private RunResult Launch(string archive) => Run.Program(Launcher.Path, [archive], new Dictionary<string, string?>
    {
        ["XAR_MODE"] = "extract",
        ["XDG_CACHE_HOME"] = _temp.Combine("cache"),
        ["HOME"] = _temp.Path,
        ["XDG_RUNTIME_DIR"] = null,
    });

    private RunResult Cache(params string[] arguments) => XarTool.Run(["cache", .. arguments, .. Roots]);

    [Fact]
    public void List_is_a_table_of_the_extractions_with_their_archive()
    {
        string archive = Archive("app", "#!/bin/sh\necho ran\n");
        Launch(archive).Stdout.Should().Be("ran\n");
        string tree = Directory.GetDirectories(CacheRoot).Single();

        RunResult list = Cache("list");

        list.ExitCode.Should().Be(0, list.ToString());
        string[] lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(2);
        lines[0].Should().MatchRegex(@"^KIND +STATE +IN USE +LAST USE \(UTC\) +SIZE +PATH +ARCHIVE$");
        lines[1].Should().MatchRegex(@$"^extraction +extracted +no +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d +\d+ B +{tree} +{archive}$");
        lines[1].IndexOf(tree, StringComparison.Ordinal).Should().Be(lines[0].IndexOf("PATH", StringComparison.Ordinal), "the columns line up");
    }

    [Fact]
    public void List_json_has_the_extraction_with_its_archive_size_and_last_use()
    {
        string archive = Archive("app", "#!/bin/sh\necho ran\n");
        var before = DateTimeOffset.UtcNow.AddSeconds(-2);
        Launch(archive).Stdout.Should().Be("ran\n");
        string tree = Directory.GetDirectories(CacheRoot).Single();

        RunResult list = Cache("list", "--json");

        list.ExitCode.Should().Be(0, list.ToString());
        var document = System.Text.Json.JsonDocument.Parse(list.Stdout).RootElement;
        document.GetProperty("format").GetString().Should().Be("xar-cache-list/1");
        var entry = document.GetProperty("entries").EnumerateArray().Should().ContainSingle().Subject;
        entry.GetProperty("kind").GetString().Should().Be("extraction");
        entry.GetProperty("state").GetString().Should().Be("extracted");
        entry.GetProperty("inUse").GetBoolean().Should().BeFalse();
        entry.GetProperty("path").GetString().Should().Be(tree);
        entry.GetProperty("archive").GetString().Should().Be(archive);
        long expectedSize = Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories).Sum(file => new FileInfo(file).Length);
        entry.GetProperty("size").GetInt64().Should().Be(expectedSize);
        entry.GetProperty("lastUse").GetInt64().Should().BeInRange(before.ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
    }

    [Fact]
    public async Task Prune_and_clear_keep_the_extraction_of_a_running_app_and_remove_it_after()
    {
        string archive = Archive("sleeper", "#!/bin/sh\nexec sleep 3\n");
        Launch(archive).ExitCode.Should().Be(0);
        string tree = Directory.GetDirectories(CacheRoot).Single();
        Task<RunResult> running = Task.Run(() => Launch(archive));
        SpinWait.SpinUntil(() => Cache("list").Stdout.Contains("extracted  yes"), TimeSpan.FromSeconds(20)).Should().BeTrue("the app holds its tree");

        RunResult clear = Cache("clear");
        RunResult prune = Cache("prune", "--older-than", "0s", "--max-size", "0");

        (clear.ExitCode, clear.Stdout, clear.Stderr).Should().Be((0, $"kept {tree}: in use\n", ""));
        (prune.ExitCode, prune.Stdout, prune.Stderr).Should().Be((0, $"kept {tree}: in use\n", ""));
        (await running).ExitCode.Should().Be(0);
        RunResult after = Cache("prune", "--max-size", "0");
        after.Stdout.Should().MatchRegex(@$"^removed {tree} \(\d+ B\)\n$");
        Directory.Exists(tree).Should().BeFalse();
        Cache("list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle("only the header is left");
    }

    [Theory]
    [InlineData("--older-than", "7x", "xar: --older-than \"7x\" is not a duration such as 90m, 12h, 7d or 2w\n")]
    [InlineData("--max-size", "2Q", "xar: --max-size \"2Q\" is not a size such as 500M or 2G\n")]
    [InlineData("--max-size", "99999999999T", "xar: --max-size \"99999999999T\" is not a size such as 500M or 2G\n")]
    public void Prune_refuses_a_duration_or_size_it_does_not_understand(string option, string value, string message)
    {
        RunResult result = Cache("prune", option, value);

        (result.ExitCode, result.Stdout, result.Stderr).Should().Be((XarCommandLine.ExitFailure, "", message));
    }

    [Theory]
    [InlineData("90m", 5400)]
    [InlineData("12h", 43200)]
    [InlineData("7d", 604800)]
    [InlineData("2w", 1209600)]
    public void Durations_take_a_unit(string text, int seconds) => CacheCommand.ParseDuration(text).Should().Be(TimeSpan.FromSeconds(seconds));

    [Theory]
    [InlineData("512", 512L)]
    [InlineData("500M", 500L << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("2GiB", 2L << 30)]
    [InlineData("1TB", 1L << 40)]
    public void Sizes_take_binary_multiples(string text, long bytes) => CacheCommand.ParseSize(text).Should().Be(bytes);
}
