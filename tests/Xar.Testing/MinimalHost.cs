namespace Xar.Testing;

/// <summary>
/// A minimal Debian system to run archives in, as issue 9's users do: `debootstrap
/// --variant=minbase bookworm` (no Python, no libblas, nothing of the scientific stack), made once
/// and kept between runs under <see cref="CacheDirectory"/>. <see cref="Bare"/> is that system;
/// <see cref="WithFuse"/> also has squashfuse and fuse3, for archives that mount (the launcher
/// needs squashfuse_ll on the host until it brings its own FUSE server). <see cref="Arm64WithPython"/>
/// is an arm64 system (`debootstrap --arch=arm64`), whose programs run under qemu-user through
/// binfmt_misc (<see cref="Qemu"/>), with Debian's python3.
/// </summary>
/// <remarks>
/// Each root is built into a temporary directory beside its final place, stamped with what it
/// was made from (<see cref="Recipe"/>), then renamed into place: a root is used only when its
/// stamp is the current recipe's, so an interrupted build or an old recipe is built anew.
/// <see cref="Run"/> sees the root read-only, so runs never change it.
/// </remarks>
public sealed class MinimalHost
{
    /// <summary>Where the roots are kept: $XAR_TEST_ROOTS, else /var/cache/xar-tests.</summary>
    public static string CacheDirectory { get; } = Environment.GetEnvironmentVariable("XAR_TEST_ROOTS") is { Length: > 0 } roots ? roots : "/var/cache/xar-tests";

    /// <summary>The Debian mirror debootstrap downloads from: $XAR_TEST_DEBIAN_MIRROR, else deb.debian.org.</summary>
    public static string Mirror { get; } = Environment.GetEnvironmentVariable("XAR_TEST_DEBIAN_MIRROR") is { Length: > 0 } mirror ? mirror : "http://deb.debian.org/debian";

    public const string Suite = "bookworm";

    /// <summary>The uid <see cref="Run"/> takes for an unprivileged user: nobody, whom base-passwd creates.</summary>
    public const int Nobody = 65534;

    private static readonly Lazy<MinimalHost> s_bare = new(() => Make("bookworm-minbase", []), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<MinimalHost> s_withFuse = new(() => Make("bookworm-minbase-fuse", ["squashfuse", "fuse3"]), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<MinimalHost> s_arm64WithPython = new(() =>
    {
        Qemu.RegisterAarch64();
        return Make("bookworm-minbase-arm64-python3", ["python3"], "arm64");
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    private MinimalHost(string root, string recipe, TimeSpan? built)
    {
        Root = root;
        Recipe = recipe;
        BuildTime = built;
    }

    /// <summary>`debootstrap --variant=minbase bookworm`, nothing added.</summary>
    public static MinimalHost Bare => s_bare.Value;

    /// <summary>The same with squashfuse and fuse3 (and what they depend on).</summary>
    public static MinimalHost WithFuse => s_withFuse.Value;

    /// <summary>`debootstrap --arch=arm64 --variant=minbase --include=python3 bookworm`, run under qemu-user (about 7 minutes to make).</summary>
    public static MinimalHost Arm64WithPython => s_arm64WithPython.Value;

    /// <summary>The root directory.</summary>
    public string Root { get; }

    /// <summary>What the root was made from, as its stamp records it.</summary>
    public string Recipe { get; }

    /// <summary>How long this process took to build the root; null when it was already there.</summary>
    public TimeSpan? BuildTime { get; }

    /// <summary>
    /// Runs <paramref name="command"/> inside the root, as root or as <see cref="Nobody"/> (with
    /// HOME=/nonexistent), under `env -i PATH=/usr/bin:/bin` plus <paramref name="environment"/>,
    /// from /tmp, in a mount namespace of its own where the root is read-only,
    /// <paramref name="work"/> (a host directory, made mode 01777) is /tmp, /proc is mounted,
    /// /dev/shm is a fresh tmpfs and /dev/fuse is the host's.
    /// </summary>
    public RunResult Run(string work, IEnumerable<string> command, bool asNobody = false, IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null)
    {
        File.SetUnixFileMode(work, (UnixFileMode)0x3FF); // 01777, as /tmp
        const string Enter = """
            set -e
            root=$1 work=$2 user=$3; shift 3
            mount --bind "$root" "$root"
            mount -o remount,bind,ro "$root"
            mount --bind "$work" "$root/tmp"
            mount -t proc proc "$root/proc"
            mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
            mount --bind /dev/fuse "$root/dev/fuse"
            exec /usr/sbin/chroot --userspec="$user:$user" "$root" "$@"
            """;
        string home = asNobody ? "/nonexistent" : "/root";
        var variables = new Dictionary<string, string?> { ["PATH"] = Testing.Run.CleanPath, ["HOME"] = home };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            variables[name] = value;
        string[] inside = ["/usr/bin/env", "-i", .. variables.Where(v => v.Value is not null).Select(v => $"{v.Key}={v.Value}"),
            "/bin/sh", "-c", "cd /tmp && exec \"$@\"", "sh", .. command];
        return Testing.Run.Program("unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", Enter, "enter", Root, work,
            asNobody ? Nobody.ToString() : "0", .. inside], cleanEnvironment: true, timeout: timeout);
    }

    private static MinimalHost Make(string name, string[] packages, string? architecture = null)
    {
        string recipe = $"debootstrap{(architecture is null ? "" : " --arch=" + architecture)} --variant=minbase{(packages.Length > 0 ? " --include=" + string.Join(',', packages) : "")} {Suite} (xar-tests 1: /dev/fuse mount point)\n";
        string root = Path.Combine(CacheDirectory, name);
        string stamp = Path.Combine(root, ".xar-tests-stamp");
        if (IsStamped(stamp, recipe))
            return new MinimalHost(root, recipe, null);
        Directory.CreateDirectory(CacheDirectory);
        using FileStream held = Lock(Path.Combine(CacheDirectory, "." + name + ".lock"));
        if (IsStamped(stamp, recipe))
            return new MinimalHost(root, recipe, null);
        var started = System.Diagnostics.Stopwatch.StartNew();
        string temporary = Path.Combine(CacheDirectory, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            Testing.Run.Checked("debootstrap", [.. architecture is null ? Array.Empty<string>() : ["--arch=" + architecture], "--variant=minbase", .. packages.Length > 0 ? ["--include=" + string.Join(',', packages)] : Array.Empty<string>(),
                Suite, temporary, Mirror], timeout: TimeSpan.FromMinutes(15));
            File.WriteAllBytes(Path.Combine(temporary, "dev/fuse"), []); // where Run binds the host's /dev/fuse
            File.WriteAllText(Path.Combine(temporary, ".xar-tests-stamp"), recipe);
            if (Directory.Exists(root) || File.Exists(root))
            {
                string aside = Path.Combine(CacheDirectory, $".{name}.{Guid.NewGuid():N}.old");
                Directory.Move(root, aside);
                Testing.Run.Checked("rm", ["-rf", aside]);
            }
            Directory.Move(temporary, root);
        }
        finally
        {
            if (Directory.Exists(temporary))
                Testing.Run.Program("rm", ["-rf", temporary]);
        }
        return new MinimalHost(root, recipe, started.Elapsed);
    }

    private static bool IsStamped(string stamp, string recipe) => File.Exists(stamp) && File.ReadAllText(stamp) == recipe;

    /// <summary>An exclusive lock file (flock, through FileShare.None), waited for: test processes building the same root take turns.</summary>
    private static FileStream Lock(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(20);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(500);
            }
        }
    }
}
