using System.Text;
using Xar.Archive;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>
/// Mounting an archive for inspection and unmounting it again (<c>xar mount</c>, <c>xar unmount</c>).
/// </summary>
public static class ArchiveMount
{
    /// <summary>
    /// Mounts the archive — or finds it mounted — exactly where the launcher does (rungs 1 and 3 of
    /// <see cref="RunLadder"/>), so that launches reuse the mount; returns its directory. It stays
    /// until the server's idle timeout (XAR_MOUNT_TIMEOUT) or <see cref="Unmount"/>.
    /// </summary>
    /// <param name="imagePath">An absolute path of the archive file, handed to the FUSE server.</param>
    /// <exception cref="XarRuntimeException">It cannot be mounted; the message names the archive and the cause.</exception>
    public static string MountForLaunch(XarArchive archive, string imagePath, RuntimeSettings settings)
    {
        using PreparedTree tree = RunLadder.Prepare(archive, imagePath, settings with { Mode = RunMode.Mount });
        return tree.Directory;
    }

    /// <summary>
    /// Mounts the archive's image on <paramref name="directory"/>, an existing empty directory,
    /// after checking it against XAR_IMAGE_SHA256; it stays until <see cref="Unmount"/>.
    /// </summary>
    /// <param name="imagePath">An absolute path of the archive file, handed to the FUSE server.</param>
    /// <param name="directory">An absolute path.</param>
    /// <exception cref="XarRuntimeException">The directory is missing, not a directory or not empty; FUSE is unavailable or the FUSE server failed.</exception>
    /// <exception cref="XarFormatException">The image does not match its recorded hash.</exception>
    public static void MountAt(XarArchive archive, string imagePath, string directory, RuntimeSettings settings)
    {
        string archivePath = archive.Path;
        int error = LibC.Stat(directory, followSymlinks: true, out StatX stat);
        if (error != 0)
            throw new XarRuntimeException(XarExitCode.CannotCreate, archivePath, $"cannot mount on {directory}: {LibC.ErrorText(error)}");
        if (!stat.IsDirectory)
            throw new XarRuntimeException(XarExitCode.CannotCreate, archivePath, $"cannot mount on {directory}: not a directory");
        if (Directory.EnumerateFileSystemEntries(directory).Any())
            throw new XarRuntimeException(XarExitCode.CannotCreate, archivePath, $"cannot mount on {directory}: the directory is not empty");
        IReadOnlyList<MountBackend> backends = MountBackend.Candidates(settings);
        if (!backends.Any(b => b.Unavailability(settings) is null))
            throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, string.Join("; ", backends.Select(b => b.Unavailability(settings))));
        archive.Verify();
        int pin = RunLadder.MountWithFirstWorking(backends, imagePath, archive, directory, timeoutSeconds: 0, settings, mountLock: -1);
        LibC.close(pin);
    }

    /// <summary>
    /// Unmounts the mount of our FUSE server or squashfuse on <paramref name="directory"/> — refusing any other kind of
    /// mount — and, with <paramref name="removeDirectory"/>, removes the directory if it is then
    /// empty. Looks only at /proc/self/mountinfo, never at the mount itself, so a mount whose
    /// server hangs is unmounted too. A mount still in use is reported, not detached lazily.
    /// </summary>
    /// <param name="directory">An absolute path.</param>
    /// <exception cref="XarRuntimeException">Nothing or something else is mounted there, or unmounting failed.</exception>
    public static void Unmount(string directory, bool removeDirectory, RuntimeSettings settings)
    {
        string? type = MountedOn(directory)?.Type;
        if (type is null)
            throw new XarRuntimeException(XarExitCode.Unavailable, directory, "nothing is mounted there");
        if (!type.StartsWith("fuse.squashfuse", StringComparison.Ordinal) && type != "fuse." + Xar.Fuse.FuseMounter.Subtype)
            throw new XarRuntimeException(XarExitCode.Unavailable, directory, $"a {type} mount, not one of xar's or squashfuse's: not unmounting it");
        if (LibC.umount2(directory, 0) != 0)
        {
            int errno = LibC.LastError;
            if (errno != LibC.EPERM)
                throw new XarRuntimeException(XarExitCode.Unavailable, directory, $"cannot unmount: {LibC.ErrorText(errno)}");
            // Not root: the setuid helper unmounts the caller's own FUSE mounts.
            string fusermount = MountBackend.FindFusermount(settings)
                ?? throw new XarRuntimeException(XarExitCode.Unavailable, directory, "cannot unmount: umount2 is not permitted and no fusermount3 is on PATH");
            ProgramResult result;
            try
            {
                result = ProgramRunner.Run(fusermount, Path.GetFileName(fusermount), "-u", directory);
            }
            catch (IOException e)
            {
                throw new XarRuntimeException(XarExitCode.Unavailable, directory, e.Message);
            }
            if (!result.Succeeded)
                throw new XarRuntimeException(XarExitCode.Unavailable, directory, $"cannot unmount: {result.Describe(Path.GetFileName(fusermount))}");
        }
        if (removeDirectory)
            LibC.rmdir(directory); // Only if empty: whatever else is there is not ours to delete.
    }

    /// <summary>
    /// Whether <paramref name="directory"/> is a mount directory of the launcher: it sits in a
    /// per-user directory <c>uid-&lt;euid&gt;</c> next to its <c>lockfile.&lt;name&gt;</c>.
    /// </summary>
    public static bool IsLauncherMountDirectory(string directory)
    {
        string? parent = Path.GetDirectoryName(directory);
        return parent is not null
            && Path.GetFileName(parent) == "uid-" + UserIdentity.EffectiveUid.ToString(System.Globalization.CultureInfo.InvariantCulture)
            && LibC.Stat(parent + "/lockfile." + Path.GetFileName(directory), followSymlinks: false, out StatX stat) == 0
            && stat.IsRegularFile;
    }

    /// <summary>
    /// The file system type and device of the mount on exactly <paramref name="directory"/> (the
    /// topmost), or null; read from /proc/self/mountinfo, never from the mount itself.
    /// </summary>
    internal static (string Type, uint Major, uint Minor)? MountedOn(string directory)
    {
        (string, uint, uint)? found = null;
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
            string[] fields = line.Split(' ');
            int separator = Array.IndexOf(fields, "-");
            if (fields.Length > 4 && separator > 4 && separator + 1 < fields.Length && Unescape(fields[4]) == directory
                && fields[2].Split(':') is [var major, var minor]
                && uint.TryParse(major, System.Globalization.CultureInfo.InvariantCulture, out uint majorNumber)
                && uint.TryParse(minor, System.Globalization.CultureInfo.InvariantCulture, out uint minorNumber))
                found = (fields[separator + 1], majorNumber, minorNumber); // Later lines are mounted on top of earlier ones.
        }
        return found;
    }

    /// <summary>The kernel writes space, tab, newline and backslash in mount points as \ooo (octal).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
            return field;
        var text = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                text.Append((char)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }
        return text.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
