using Xar.Archive;
using Xar.Archive.Elf;

namespace Xar.Runtime.Tests;

/// <summary>
/// One test's world: its own mount root (mode 01777, named in the archives' MOUNT_ROOT), cache
/// (XDG_CACHE_HOME) and HOME under a temporary directory. Disposing stops the FUSE server (ours or
/// squashfuse_ll) of every mount under it — also after a failed assertion — and deletes it all, its
/// mounts detached and also those of its archives elsewhere (one built without MOUNT_ROOT mounts in
/// /dev/shm/uid-N) with their lock files; a mount that cannot be detached fails the test.
/// </summary>
public sealed class Sandbox : IDisposable
{
    private readonly TempDirectory _directory = new("sandbox");

    public Sandbox()
    {
        Root = _directory.Path;
        MountRoot = Path.Combine(Root, "mnt");
        Directory.CreateDirectory(MountRoot);
        File.SetUnixFileMode(MountRoot, (UnixFileMode)0x3FF); // 01777
        Cache = Path.Combine(Root, "cache");
        Home = Path.Combine(Root, "home");
        Directory.CreateDirectory(Home);
    }

    public string Root { get; }

    public string MountRoot { get; }

    /// <summary>XDG_CACHE_HOME: extractions land in Cache/xar/&lt;image sha256&gt;.</summary>
    public string Cache { get; }

    public string Home { get; }

    /// <summary>The environment of every launch; tests add to it.</summary>
    public Dictionary<string, string?> Environment { get; } = new()
    {
        ["XAR_MODE"] = null,
        ["XAR_MOUNT_SEED"] = null,
        ["XAR_MOUNT_TIMEOUT"] = null,
        ["XAR_FUSE_SERVER"] = null,
        ["XDG_RUNTIME_DIR"] = null,
        ["XARFUSE_NEW_MOUNT"] = null,
    };

    public string Archive(TargetKind target = TargetKind.Shell, XarLayout layout = XarLayout.Xarexec, string? xarexecTarget = TestArchives.TargetPath,
        IReadOnlyDictionary<string, string>? extraFiles = null, IReadOnlyDictionary<string, string>? extraHeader = null,
        IReadOnlyDictionary<string, string>? symlinks = null) =>
        TestArchives.Build(Root, target, layout, MountRoot, xarexecTarget, extraFiles, extraHeader, symlinks);

    /// <summary>Runs <c>xarexec ARCHIVE ARGS</c> (xarexec layout) or <c>./ARCHIVE ARGS</c> (self layout).</summary>
    public RunResult Launch(string archive, IEnumerable<string>? arguments = null, string? stdin = null,
        IReadOnlyDictionary<string, string?>? extraEnvironment = null, TimeSpan? timeout = null)
    {
        bool self = ElfObject.IsElf(archive);
        string program = self ? archive : Launcher.Path;
        var argv = new List<string>();
        if (!self)
            argv.Add(archive);
        argv.AddRange(arguments ?? []);
        return Run.Program(program, argv, environment: Env(extraEnvironment), stdin: stdin, timeout: timeout);
    }

    /// <summary>Runs the launcher with exactly <paramref name="arguments"/>.</summary>
    public RunResult Xarexec(params string[] arguments) => Run.Program(Launcher.Path, arguments, environment: Env(null));

    public Dictionary<string, string?> Env(IReadOnlyDictionary<string, string?>? extra)
    {
        var environment = new Dictionary<string, string?>(Environment)
        {
            ["XDG_CACHE_HOME"] = Cache,
            ["HOME"] = Home,
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, string?>())
            environment[name] = value;
        return environment;
    }

    /// <summary>Mount points under <see cref="Root"/>, deepest first.</summary>
    public List<(string MountPoint, string FsType)> Mounts() => Xar.Testing.Mounts.Under(Root);

    /// <summary>Pids of the FUSE servers (ours, squashfuse_ll) serving <paramref name="mountPoint"/>, or any mount point under <see cref="Root"/>.</summary>
    public List<int> ServerProcesses(string? mountPoint = null)
    {
        var pids = new List<int>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out int pid))
                continue;
            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            if ((commandLine.StartsWith("squashfuse_ll ", StringComparison.Ordinal) || commandLine.StartsWith("xar-fuse-server ", StringComparison.Ordinal))
                && commandLine.Contains(mountPoint ?? Root + "/"))
                pids.Add(pid);
        }
        return pids;
    }

    public void Dispose()
    {
        foreach (int pid in ServerProcesses())
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException)
            {
                // It exited since it was listed.
            }
        }
        _directory.Dispose();
    }
}
