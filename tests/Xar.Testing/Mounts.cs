using System.Text.RegularExpressions;

namespace Xar.Testing;

/// <summary>The mounts this process sees (/proc/self/mountinfo), and detaching them.</summary>
public static partial class Mounts
{
    /// <summary>Mount points strictly below <paramref name="directory"/> with their file system type, deepest first: the order to detach them in.</summary>
    /// <param name="mountInfo">Another mount namespace's mountinfo (/proc/PID/mountinfo) instead of this process's.</param>
    public static List<(string MountPoint, string FsType)> Under(string directory, string mountInfo = "/proc/self/mountinfo")
    {
        var mounts = All(mountInfo).Where(m => m.MountPoint.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal)).ToList();
        mounts.Sort((a, b) => b.MountPoint.Length.CompareTo(a.MountPoint.Length));
        return mounts;
    }

    public static bool IsMountPoint(string directory) => All().Any(m => m.MountPoint == directory);

    /// <summary>
    /// Detaches a mount lazily (it goes away once nothing uses it; a FUSE daemon then exits):
    /// fusermount3 for FUSE mounts, which works without privileges, umount -l for the others.
    /// </summary>
    public static void Detach(string mountPoint)
    {
        if (Run.Program("fusermount3", ["-u", "-z", "-q", mountPoint]).ExitCode != 0)
            Run.Program("umount", ["-l", mountPoint]);
    }

    private static IEnumerable<(string MountPoint, string FsType)> All(string mountInfo = "/proc/self/mountinfo")
    {
        foreach (string line in File.ReadLines(mountInfo))
        {
            // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
            string[] fields = line.Split(' ');
            int separator = Array.IndexOf(fields, "-");
            yield return (Unescape(fields[4]), fields[separator + 1]);
        }
    }

    /// <summary>The kernel writes space, tab, newline and backslash in paths as \ooo (octal).</summary>
    private static string Unescape(string field) =>
        OctalEscape().Replace(field, match => ((char)Convert.ToInt32(match.Groups[1].Value, 8)).ToString());

    [GeneratedRegex(@"\\([0-7]{3})")]
    private static partial Regex OctalEscape();
}
