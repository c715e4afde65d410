using Xar.Archive;

namespace Xar.Cli.Tests.Support;

/// <summary>
/// A temporary directory for a test's archives, environments and extraction cache. Archives are
/// run as a user on another host would run them: `env -i PATH=/usr/bin:/bin`, from `/`. Those
/// runs mount in the standard place (/dev/shm/uid-N), so disposing unmounts the mount of every
/// archive launched — also after a failed assertion — and deletes the directory.
/// </summary>
internal sealed class Workspace : IDisposable
{
    private static readonly Lazy<string> s_uid = new(() => Run.Checked("id", ["-u"]).Trim());

    private readonly TempDirectory _directory = new("workspace");
    private readonly List<string> _launched = [];

    public Workspace()
    {
        Cache = Combine("cache");
    }

    public string Root => _directory.Path;

    /// <summary>XDG_CACHE_HOME of extraction runs: extractions land in Cache/xar/&lt;image sha256&gt;.</summary>
    public string Cache { get; }

    /// <summary>The environment (on top of the clean one) that makes the launcher extract into <see cref="Cache"/> instead of mounting.</summary>
    public IReadOnlyDictionary<string, string?> Extraction => new Dictionary<string, string?> { ["XAR_MODE"] = "extract", ["XDG_CACHE_HOME"] = Cache };

    public string Combine(params string[] parts) => _directory.Combine(parts);

    /// <summary>Writes a UTF-8 file, creating its directories, and returns its path.</summary>
    public string Write(string relative, string text) => _directory.Write(relative, text);

    /// <summary>A symbolic link named <paramref name="name"/> next to the archive, pointing at it (busybox style).</summary>
    public string Link(string archive, string name)
    {
        string link = Path.Combine(Path.GetDirectoryName(archive)!, name);
        File.CreateSymbolicLink(link, Path.GetFileName(archive));
        return link;
    }

    /// <summary>Runs <paramref name="program"/> (an archive, or a link to one) under `env -i PATH=/usr/bin:/bin` plus <paramref name="environment"/>, from `/`.</summary>
    public RunResult Launch(string program, IEnumerable<string>? arguments = null, IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null)
    {
        lock (_launched)
            _launched.Add(program);
        return Run.Program(program, arguments ?? [], environment, cleanEnvironment: true, workingDirectory: "/", stdin: stdin);
    }

    /// <summary>Runs a program natively, the same way as <see cref="Launch"/>: the baseline archives are compared with.</summary>
    public static RunResult Native(string program, IEnumerable<string>? arguments = null, string? stdin = null) =>
        Run.Program(program, arguments ?? [], cleanEnvironment: true, workingDirectory: "/", stdin: stdin);

    /// <summary>Where the launcher mounts <paramref name="archive"/> when run by <see cref="Launch"/> (`xarexec -n`).</summary>
    public static string MountDirectory(string archive) =>
        Run.Checked(Launcher.Path, ["-n", archive], cleanEnvironment: true, workingDirectory: "/").Trim();

    /// <summary>The extraction of <paramref name="archive"/> in <see cref="Cache"/>.</summary>
    public string ExtractionDirectory(string archive) => Path.Combine(Cache, "xar", ImageSha256(archive));

    public static string ImageSha256(string archive)
    {
        using var opened = XarArchive.Open(archive);
        return opened.Header.ImageSha256 ?? throw new InvalidOperationException($"{archive}: no {XarHeaderKeys.ImageSha256} in the header");
    }

    /// <summary>Runs a fixture's set-up; when it throws, the workspace is disposed (xunit does not dispose a fixture whose constructor failed).</summary>
    public T DisposeIfThrows<T>(Func<T> setUp)
    {
        try
        {
            return setUp();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        List<string> launched;
        lock (_launched)
            launched = _launched.Where(File.Exists).Select(p => Path.GetFullPath(p)).Distinct().ToList();
        foreach (string program in launched)
            Unmount(program);
        _directory.Dispose();
    }

    /// <summary>
    /// Detaches the archive's mount (its squashfuse_ll then exits), removes the directory and the
    /// lock file the launcher made for it, and any extraction a launch without FUSE would have
    /// made in the shared fallback cache roots.
    /// </summary>
    private static void Unmount(string program)
    {
        Mounts.DetachLauncherMount(MountDirectory(program));
        string sha = ImageSha256(program);
        foreach (string sharedRoot in (string[])[$"/var/tmp/xar-uid-{s_uid.Value}", $"/tmp/xar-uid-{s_uid.Value}"])
        {
            string extraction = Path.Combine(sharedRoot, sha);
            if (Directory.Exists(extraction))
            {
                Run.Program("chmod", ["-R", "u+rwX", extraction]);
                Directory.Delete(extraction, recursive: true);
            }
        }
    }
}
