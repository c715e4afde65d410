using System.Globalization;
using System.Text;
using Xar.Archive;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>
/// Where an archive is mounted, named exactly as the original xarexec_fuse names it
/// (docs/xar-format.md §9.2 steps 5–9, §9.3) so that it, this launcher and clean_xar_mounts share
/// mounts: <c>&lt;root&gt;/uid-&lt;euid&gt;/&lt;UUID&gt;[-seed-…]-ns-&lt;mount namespace inode&gt;</c>,
/// locked through <c>&lt;root&gt;/uid-&lt;euid&gt;/lockfile.&lt;name&gt;</c>.
/// </summary>
public sealed record MountLocation(string Root, string UserDirectory, string Name)
{
    /// <summary>The original's default roots on Linux, in order of preference.</summary>
    public static readonly string[] DefaultRoots = ["/mnt/xarfuse", "/dev/shm"];

    /// <summary>World-writable with the sticky bit: the only mode the original accepts for a root.</summary>
    public const int RootMode = 0x3FF; // 01777

    /// <summary>The per-user directory and the mount directory.</summary>
    public const int DirectoryMode = 0x1ED; // 0755

    /// <summary>The lock file.</summary>
    public const int LockFileMode = 0x180; // 0600

    public string MountPath => UserDirectory + "/" + Name;

    public string LockPath => UserDirectory + "/lockfile." + Name;

    /// <summary>Records which file was last verified for this mount (<see cref="ImageHash.VerifyUnlessStamped"/>).</summary>
    public string VerifiedStampPath => UserDirectory + "/verified." + Name;

    /// <summary>
    /// Computes the location without creating anything (<c>xarexec -n</c> has no side effect,
    /// unlike the original, docs/xar-format.md R17).
    /// </summary>
    /// <exception cref="XarRuntimeException">No usable mount root (<see cref="XarExitCode.Unavailable"/> or <see cref="XarExitCode.UnsafePermissions"/>), or a relative MOUNT_ROOT (<see cref="XarExitCode.BadArchive"/>).</exception>
    public static MountLocation Resolve(XarHeader header, RuntimeSettings settings, string archivePath)
    {
        string root = ChooseRoot(header.MountRoot, archivePath);
        string userDirectory = root.TrimEnd('/') + "/uid-" + UserIdentity.EffectiveUid.ToString(CultureInfo.InvariantCulture);
        return new MountLocation(root, userDirectory, DirectoryName(header.Uuid, settings.MountSeed));
    }

    private static string ChooseRoot(string? headerRoot, string archivePath)
    {
        if (headerRoot is not null)
        {
            // Relative to whatever directory the launch happens in: the writer refuses one too.
            if (!headerRoot.StartsWith('/'))
                throw new XarRuntimeException(XarExitCode.BadArchive, archivePath, $"MOUNT_ROOT \"{headerRoot}\" from the header is not an absolute path");
            int error = LibC.Stat(headerRoot, followSymlinks: true, out StatX stat);
            if (error != 0)
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath,
                    $"MOUNT_ROOT {headerRoot} from the header: {LibC.ErrorText(error)}");
            if (!stat.IsDirectory || stat.Permissions != RootMode)
                throw new XarRuntimeException(XarExitCode.UnsafePermissions, archivePath,
                    $"MOUNT_ROOT {headerRoot} from the header must be a directory with mode 01777, it has {UserIdentity.Octal(stat.Permissions)}");
            return headerRoot;
        }
        foreach (string root in DefaultRoots)
        {
            if (LibC.Stat(root, followSymlinks: true, out StatX stat) == 0 && stat.IsDirectory && stat.Permissions == RootMode)
                return root;
        }
        throw new XarRuntimeException(XarExitCode.Unavailable, archivePath,
            "no mount root: neither /mnt/xarfuse nor /dev/shm is a directory with mode 01777 (mkdir /mnt/xarfuse && chmod 01777 /mnt/xarfuse)");
    }

    /// <summary>
    /// UUID, then <c>-seed-</c> with XAR_MOUNT_SEED (non-empty, no '/') or
    /// <c>nspid&lt;pid ns inode&gt;[_cgpid&lt;cgroup inode&gt;]</c>, then <c>-ns-&lt;mount ns inode&gt;</c>.
    /// </summary>
    internal static string DirectoryName(string uuid, string? seed)
    {
        var name = new StringBuilder(uuid, 80);
        if (!string.IsNullOrEmpty(seed) && !seed.Contains('/'))
        {
            name.Append("-seed-").Append(seed);
        }
        else if (LibC.Stat("/proc/self/ns/pid", followSymlinks: true, out StatX pidNamespace) == 0)
        {
            name.Append("-seed-nspid").Append(pidNamespace.Ino.ToString(CultureInfo.InvariantCulture));
            ulong? cgroup = CgroupInode();
            if (cgroup is not null)
                name.Append("_cgpid").Append(cgroup.Value.ToString(CultureInfo.InvariantCulture));
        }
        if (LibC.Stat("/proc/self/ns/mnt", followSymlinks: true, out StatX mountNamespace) == 0)
            name.Append("-ns-").Append(mountNamespace.Ino.ToString(CultureInfo.InvariantCulture));
        return name.ToString();
    }

    /// <summary>
    /// The original's read_sysfs_cgroup_inode, reproduced as is so that mount names match it: the
    /// third ':'-separated field of /proc/self/cgroup up to the first newline (the path of the
    /// first line; right on cgroup v2, docs/xar-format.md R10), looked up under /sys/fs/cgroup, then /cgroup2.
    /// </summary>
    private static ulong? CgroupInode()
    {
        string text;
        try
        {
            text = File.ReadAllText("/proc/self/cgroup");
        }
        catch (IOException)
        {
            return null;
        }
        string[] fields = text.Split(':');
        if (fields.Length < 3)
            return null;
        string path = fields[2];
        int newline = path.IndexOf('\n');
        if (newline >= 0)
            path = path[..newline];
        foreach (string mount in (ReadOnlySpan<string>)["/sys/fs/cgroup/", "/cgroup2/"])
        {
            if (LibC.Stat(mount + path, followSymlinks: true, out StatX stat) == 0)
                return stat.Ino;
        }
        return null;
    }
}
