using System.Text.RegularExpressions;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// An application using numba's <c>cache=True</c> (which writes beside the module: read-only in a
/// mount) and matplotlib (whose config and font cache go under HOME), from Debian's packages, run
/// where HOME cannot be written: a read-only HOME as root from a mount, and HOME=/nonexistent as
/// nobody from an extraction. The bootstrap's per-image cache directory keeps both working
/// (docs/python-apps.md §8).
/// </summary>
public sealed class WritableCacheArchive : IDisposable
{
    /// <summary>Prints the numba function's result, its cache hits and misses and cache directory, and matplotlib's config directory.</summary>
    private const string Script = """
        import numba


        @numba.njit(cache=True)
        def square_sum(n):
            total = 0
            for i in range(n):
                total += i * i
            return total


        def main():
            print("square_sum(1000) = %d" % square_sum(1000))
            stats = square_sum.stats
            print("cache hits %d misses %d" % (sum(stats.cache_hits.values()), sum(stats.cache_misses.values())))
            print("numba cache %s" % square_sum._cache._cache_path)
            import matplotlib

            print("matplotlib config %s" % matplotlib.get_configdir())
        """;

    /// <summary>
    /// What Debian's egg-info leaves undeclared (issue 9), listed by hand until the build follows
    /// imports itself: numba's llvmlite, matplotlib's dependencies.
    /// </summary>
    private static readonly string[] Undeclared = ["llvmlite", "packaging", "python-dateutil", "six", "pyparsing", "cycler", "kiwisolver", "Pillow", "contourpy", "fonttools"];

    internal Workspace Workspace { get; } = new();

    public WritableCacheArchive()
    {
        Archive = Workspace.DisposeIfThrows(() =>
        {
            string wheel = new TestWheel
            {
                Name = "cacheprobe",
                RequiresDist = ["numba", "matplotlib"],
                EntryPoints = "[console_scripts]\ncacheprobe = cacheprobe:main\n",
                Files = new Dictionary<string, string> { ["cacheprobe.py"] = Script },
            }.WriteTo(Workspace.Combine("wheels"));
            return XarTool.Build(Workspace.Combine("cacheprobe.xar"), ["--wheels", wheel, "--from-env", Interpreters.Require(DebianSitePackages),
                "--python", Interpreters.Require("/usr/bin/python3.11"), "cacheprobe", .. Undeclared]);
        });
        Image = Workspace.ImageSha256(Archive);
    }

    public const string DebianSitePackages = "/usr/lib/python3/dist-packages";

    public string Archive { get; }

    public string Image { get; }

    public void Dispose()
    {
        // What the runs as root with an unwritable HOME and as nobody left in the shared roots:
        // per-image caches, and nobody's extractions.
        foreach (string root in (string[])["/var/tmp/xar-uid-0", $"/var/tmp/xar-uid-{WritableCacheTests.Nobody}", $"/tmp/xar-uid-{WritableCacheTests.Nobody}"])
        {
            foreach (string tree in (string[])[$"{root}/.app-caches/{Image}", $"{root}/{Image}"])
            {
                if (Directory.Exists(tree))
                    Run.Checked("rm", ["-rf", tree]);
            }
            File.Delete($"{root}/{Image}.stamp");
            File.Delete($"{root}/{Image}.lock");
        }
        Workspace.Dispose();
    }
}

public sealed class WritableCacheTests(WritableCacheArchive fixture) : IClassFixture<WritableCacheArchive>
{
    public const int Nobody = 65534;

    private Workspace Workspace => fixture.Workspace;

    [Fact]
    public void From_a_mount_with_a_read_only_HOME_numba_caches_in_the_per_image_directory_and_the_second_run_uses_it()
    {
        // Root may write anywhere but on a read-only filesystem: HOME is one.
        string home = Workspace.Combine("readonly-home");
        Directory.CreateDirectory(home);
        Run.Checked("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", home]);
        var environment = new Dictionary<string, string?> { ["HOME"] = home, ["XAR_MODE"] = "mount" };
        string caches = $"/var/tmp/xar-uid-0/.app-caches/{fixture.Image}";

        RunResult first = Workspace.Launch(fixture.Archive, [], environment);
        RunResult second = Workspace.Launch(fixture.Archive, [], environment);

        first.ExitCode.Should().Be(0, first.ToString());
        first.Stderr.Should().BeEmpty("matplotlib does not fall back to a temporary directory with a warning: {0}", first);
        Numbered(first.Stdout).Should().Be($"square_sum(1000) = 332833500\ncache hits 0 misses 1\nnumba cache {caches}/numba/python_*\nmatplotlib config {caches}/matplotlib\n");
        second.Should().Be(first with { Stdout = first.Stdout.Replace("cache hits 0 misses 1", "cache hits 1 misses 0") });
        Directory.EnumerateFiles(caches + "/numba", "*.nbc", SearchOption.AllDirectories).Should().NotBeEmpty();
        Directory.Exists(Workspace.MountDirectory(fixture.Archive) + "/lib/python/__pycache__").Should()
            .BeFalse("the image's code is in its bytecode bundle, and numba's cache did not go beside the module either");
        File.GetUnixFileMode(caches).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public void As_nobody_with_HOME_nonexistent_an_extraction_gets_a_private_cache_beside_it_not_inside_it()
    {
        string shared = $"/var/tmp/xar-uid-{Nobody}";
        string caches = $"{shared}/.app-caches/{fixture.Image}";

        RunResult first = AsNobody(fixture.Archive);
        RunResult second = AsNobody(fixture.Archive);

        first.ExitCode.Should().Be(0, first.ToString());
        first.Stderr.Should().BeEmpty("matplotlib does not fall back to a temporary directory with a warning: {0}", first);
        Numbered(first.Stdout).Should().Be($"square_sum(1000) = 332833500\ncache hits 0 misses 1\nnumba cache {caches}/numba/python_*\nmatplotlib config {caches}/matplotlib\n");
        second.Should().Be(first with { Stdout = first.Stdout.Replace("cache hits 0 misses 1", "cache hits 1 misses 0") });
        var status = Run.Checked("stat", ["-c", "%u %a", shared, $"{shared}/.app-caches", caches]);
        status.Should().Be($"{Nobody} 700\n{Nobody} 700\n{Nobody} 700\n");
        Directory.EnumerateFiles($"{shared}/{fixture.Image}", "*.nb*", SearchOption.AllDirectories).Should().BeEmpty("the extraction stays the image");
    }

    [Fact]
    public void The_users_own_variables_win_and_a_writable_HOME_keeps_matplotlibs_default()
    {
        string numbaCache = Workspace.Combine("user-numba-cache");
        string home = Workspace.Combine("home");
        Directory.CreateDirectory(home);

        RunResult result = Workspace.Launch(fixture.Archive, [], new Dictionary<string, string?> { ["HOME"] = home, ["NUMBA_CACHE_DIR"] = numbaCache });

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stderr.Should().BeEmpty();
        result.Stdout.Should().Contain($"numba cache {numbaCache}/").And.EndWith($"matplotlib config {home}/.config/matplotlib\n");
    }

    [Fact]
    public void A_shared_root_of_another_user_or_open_to_others_is_not_used()
    {
        // /tmp/xar-uid-N is the last root; a /var/tmp one that is not private makes the bootstrap skip to it.
        string shared = $"/var/tmp/xar-uid-{Nobody}";
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, (UnixFileMode)0x1FF); // 0777
        Run.Checked("chown", [Nobody.ToString(), shared]);
        try
        {
            RunResult result = AsNobody(fixture.Archive);

            result.ExitCode.Should().Be(0, result.ToString());
            Numbered(result.Stdout).Should().Contain($"numba cache /tmp/xar-uid-{Nobody}/.app-caches/{fixture.Image}/numba/python_*\n",
                "a root writable by others is skipped for the next one: {0}", result);
        }
        finally
        {
            File.SetUnixFileMode(shared, (UnixFileMode)0x1C0);
        }
    }

    /// <summary>numba keeps each source directory's cache in a subdirectory named after its path and a hash of it.</summary>
    private static string Numbered(string stdout) => Regex.Replace(stdout, "/numba/python_[0-9a-f]{40}\n", "/numba/python_*\n");

    /// <summary>The archive run as nobody, HOME=/nonexistent, in a clean environment from /.</summary>
    private RunResult AsNobody(string archive, Dictionary<string, string?>? environment = null) =>
        Run.Program("setpriv", ["--reuid=" + Nobody, "--regid=" + Nobody, "--clear-groups", "env", "-i", "PATH=" + Run.CleanPath, "HOME=/nonexistent",
            .. (environment ?? []).Where(v => v.Value is not null).Select(v => v.Key + "=" + v.Value), archive], workingDirectory: "/");
}
