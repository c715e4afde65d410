using System.Text.RegularExpressions;
using Xar.Interop;

namespace Xar.Testing;

/// <summary>The mounts this process sees (/proc/self/mountinfo), and detaching them.</summary>
public static partial class Mounts
{
    /// <summary>Mount points strictly below <paramref name="directory"/> with their file system type, deepest first: the order to detach them in.</summary>
    /// <param name="mountInfo">Another mount namespace's mountinfo (/proc/PID/mountinfo) instead of this process's.</param>
    public static List<(string MountPoint, string FsType)> Under(string directory, string mountInfo = "/proc/self/mountinfo")
    {
        var mounts = All(mountInfo).Where(m => IsBelow(m.MountPoint, directory)).Select(m => (m.MountPoint, m.FsType)).ToList();
        mounts.Sort((a, b) => b.MountPoint.Length.CompareTo(a.MountPoint.Length));
        return mounts;
    }

    /// <summary>
    /// Mount points anywhere of images in <paramref name="directory"/>: our server names the
    /// archive it serves as the mount's source, and an archive whose header has no MOUNT_ROOT
    /// mounts in a default root (/dev/shm/uid-N), outside the test's directory.
    /// </summary>
    public static List<string> Serving(string directory) =>
        [.. All().Where(m => IsBelow(m.Source, directory) && !IsBelow(m.MountPoint, directory)).Select(m => m.MountPoint)];

    /// <summary>Every mount point with its source (for our server's mounts, the archive it serves).</summary>
    public static List<(string MountPoint, string Source)> WithSources() => [.. All().Select(m => (m.MountPoint, m.Source))];

    public static bool IsMountPoint(string directory) => All().Any(m => m.MountPoint == directory);

    /// <summary>
    /// Detaches every mount below <paramref name="directory"/> and every mount of an image in it
    /// (<see cref="Serving"/>, with what the launcher made beside those: <see cref="DetachLauncherMount"/>),
    /// so that no test leaves a mount behind, least of all one whose server it killed.
    /// </summary>
    /// <exception cref="InvalidOperationException">A mount could not be detached.</exception>
    public static void DetachAll(string directory)
    {
        foreach (string mountPoint in Serving(directory))
            DetachLauncherMount(mountPoint);
        foreach (var (mountPoint, _) in Under(directory))
            Detach(mountPoint);
        List<string> left = [.. Under(directory).Select(m => m.MountPoint), .. Serving(directory)];
        if (left.Count > 0)
            throw new InvalidOperationException($"mounts of {directory} left after detaching them: {string.Join(", ", left)}");
    }

    /// <summary>
    /// Detaches a mount the launcher made (if it is mounted) and removes what the launcher made for
    /// it in its mount root's uid-N directory: the mount directory, once empty, its lock file and
    /// its verified stamp (MountLocation).
    /// </summary>
    public static void DetachLauncherMount(string mountPoint)
    {
        if (IsMountPoint(mountPoint))
            Detach(mountPoint);
        string userDirectory = Path.GetDirectoryName(mountPoint)!;
        if (!Path.GetFileName(userDirectory).StartsWith("uid-", StringComparison.Ordinal))
            return;
        if (Directory.Exists(mountPoint) && !Directory.EnumerateFileSystemEntries(mountPoint).Any())
            Directory.Delete(mountPoint);
        string name = Path.GetFileName(mountPoint);
        File.Delete(Path.Combine(userDirectory, "lockfile." + name));
        File.Delete(Path.Combine(userDirectory, "verified." + name));
    }

    /// <summary>
    /// Detaches a mount lazily (it goes away once nothing uses it; a FUSE daemon then exits):
    /// umount2(MNT_DETACH) as root, fusermount3 -u -z for a user's FUSE mount.
    /// </summary>
    public static void Detach(string mountPoint)
    {
        if (LibC.umount2(mountPoint, LibC.MNT_DETACH) != 0)
            Run.Program("fusermount3", ["-u", "-z", "-q", mountPoint]);
    }

    private static bool IsBelow(string path, string directory) => path.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal);

    private static IEnumerable<(string MountPoint, string FsType, string Source)> All(string mountInfo = "/proc/self/mountinfo")
    {
        foreach (string line in File.ReadLines(mountInfo))
        {
            // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
            string[] fields = line.Split(' ');
            int separator = Array.IndexOf(fields, "-");
            yield return (Unescape(fields[4]), fields[separator + 1], Unescape(fields[separator + 2]));
        }
    }

    /// <summary>The kernel writes space, tab, newline and backslash in paths as \ooo (octal).</summary>
    private static string Unescape(string field) =>
        OctalEscape().Replace(field, match => ((char)Convert.ToInt32(match.Groups[1].Value, 8)).ToString());

    [GeneratedRegex(@"\\([0-7]{3})")]
    private static partial Regex OctalEscape();
}
