using System.Runtime.InteropServices;
using Xar.Interop;

namespace Xar.Runtime;

/// <summary>
/// Deletes a tree with <c>*at</c> calls relative to directory descriptors, so that no path
/// grows with its depth (an image may nest beyond PATH_MAX; its failed extraction must still go),
/// never following a symbolic link and never descending into another filesystem (a mount
/// point inside stays, and with it its ancestors). Directories the image made read-only get
/// u+rwx first. It holds two descriptors at a time whatever the depth (the launcher runs with
/// the caller's descriptor limit, often 1024): it climbs back through "..", checked against the
/// device and inode recorded on the way down, and stops if a directory was moved meanwhile.
/// Best effort: returns whether the tree is gone.
/// </summary>
public static unsafe class TreeRemoval
{
    private const int OwnerAll = 0x1C0; // 0700

    private static readonly byte[] s_parent = "..\0"u8.ToArray();

    /// <summary>A directory on the way down: its identity, its subdirectories still to remove, and the one being removed.</summary>
    private sealed class Level(StatX stat, Queue<byte[]> subdirectories)
    {
        public StatX Stat = stat;
        public readonly Queue<byte[]> Subdirectories = subdirectories;
        public byte[]? Child;
    }

    public static bool Remove(string path)
    {
        string trimmed = path.TrimEnd('/');
        string parent = Path.GetDirectoryName(trimmed) ?? "/";
        string name = Path.GetFileName(trimmed);
        if (name.Length == 0)
            return false;
        int parentFd = LibC.Open(parent, LibC.O_RDONLY | LibC.O_DIRECTORY, 0, out int errno);
        if (parentFd < 0)
            return errno == LibC.ENOENT;
        try
        {
            if (LibC.Stat(parentFd, out StatX parentStat) != 0)
                return false;
            byte[] entry = LibC.Utf8Z(name);
            fixed (byte* entryName = entry)
            {
                int error = LibC.Stat(parentFd, entryName, out StatX stat);
                if (error != 0)
                    return error == LibC.ENOENT;
                if (!stat.IsDirectory)
                    return LibC.unlinkat(parentFd, entryName, 0) == 0 || LibC.LastError == LibC.ENOENT;
            }
            return RemoveDirectory(parentFd, parentStat, entry);
        }
        finally
        {
            LibC.close(parentFd);
        }
    }

    /// <summary>Depth first without recursion; <paramref name="name"/> is NUL-terminated.</summary>
    private static bool RemoveDirectory(int parentFd, in StatX parent, byte[] name)
    {
        int current = OpenDirectory(parentFd, parent, name, out StatX currentStat);
        if (current < 0)
            return false;
        var levels = new List<Level> { Enter(current, currentStat) };
        while (true)
        {
            Level level = levels[^1];
            if (level.Subdirectories.TryDequeue(out byte[]? child))
            {
                int childFd = OpenDirectory(current, level.Stat, child, out StatX childStat);
                if (childFd < 0)
                    continue;
                level.Child = child;
                LibC.close(current);
                current = childFd;
                levels.Add(Enter(current, childStat));
                continue;
            }
            levels.RemoveAt(levels.Count - 1);
            if (levels.Count == 0)
                break;
            // Up one level: ".." must be the directory recorded on the way down.
            int up;
            fixed (byte* dotDot = s_parent)
                up = LibC.OpenAt(current, dotDot, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0, out _);
            LibC.close(current);
            current = up;
            if (up < 0 || LibC.Stat(up, out StatX upStat) != 0 || !LibC.SameFile(upStat, levels[^1].Stat))
            {
                if (up >= 0)
                    LibC.close(up);
                return false;
            }
            fixed (byte* removed = levels[^1].Child)
                LibC.unlinkat(current, removed, LibC.AT_REMOVEDIR); // Fails only if something stayed (a mount point): then so does this.
        }
        LibC.close(current);
        fixed (byte* top = name)
            return LibC.unlinkat(parentFd, top, LibC.AT_REMOVEDIR) == 0 || LibC.LastError == LibC.ENOENT;
    }

    /// <summary>
    /// Opens the subdirectory <paramref name="name"/> of <paramref name="dirFd"/> (u+rwx first) when it
    /// is a directory on the same filesystem, and is still the entry checked when opened; else -1.
    /// </summary>
    private static int OpenDirectory(int dirFd, in StatX directory, byte[] name, out StatX opened)
    {
        opened = default;
        fixed (byte* entryName = name)
        {
            if (LibC.Stat(dirFd, entryName, out StatX entry) != 0 || !entry.IsDirectory)
                return -1;
            if (entry.DevMajor != directory.DevMajor || entry.DevMinor != directory.DevMinor)
                return -1; // A mount point: what is mounted there is not ours to delete.
            if ((entry.Permissions & OwnerAll) != OwnerAll)
            {
                // Through a descriptor of the very directory checked: fchmodat follows symlinks, and
                // the entry could have been swapped for one (root would then chmod its target).
                int path = LibC.OpenAt(dirFd, entryName, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0, out _);
                if (path < 0)
                    return -1;
                bool same = LibC.Stat(path, out StatX pinned) == 0 && LibC.SameFile(pinned, entry);
                if (same)
                {
                    fixed (byte* proc = LibC.Utf8Z("/proc/self/fd/" + path.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                        LibC.fchmodat(LibC.AT_FDCWD, proc, (uint)(entry.Permissions | OwnerAll), 0);
                }
                LibC.close(path);
                if (!same)
                    return -1;
            }
            int fd = LibC.OpenAt(dirFd, entryName, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0, out _);
            if (fd < 0)
                return -1;
            if (LibC.Stat(fd, out opened) != 0 || !LibC.SameFile(opened, entry))
            {
                LibC.close(fd);
                return -1;
            }
            return fd;
        }
    }

    /// <summary>Deletes what is not a directory in <paramref name="fd"/>; returns the level with its subdirectories queued.</summary>
    private static Level Enter(int fd, in StatX stat)
    {
        var subdirectories = new Queue<byte[]>();
        foreach (byte[] name in Names(fd))
        {
            fixed (byte* entryName = name)
            {
                if (LibC.Stat(fd, entryName, out StatX entry) != 0)
                    continue;
                if (entry.IsDirectory)
                    subdirectories.Enqueue(name);
                else
                    LibC.unlinkat(fd, entryName, 0);
            }
        }
        return new Level(stat, subdirectories);
    }

    /// <summary>The entries of the open directory <paramref name="fd"/> as NUL-terminated names, read through a duplicate (closedir closes it).</summary>
    private static List<byte[]> Names(int fd)
    {
        var names = new List<byte[]>();
        int duplicate = LibC.fcntl(fd, LibC.F_DUPFD_CLOEXEC, 0);
        if (duplicate < 0)
            return names;
        nint directory = LibC.fdopendir(duplicate);
        if (directory == 0)
        {
            LibC.close(duplicate);
            return names;
        }
        try
        {
            DirEnt64* entry;
            while ((entry = LibC.readdir64(directory)) != null)
            {
                ReadOnlySpan<byte> name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(entry->Name);
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                    names.Add([.. name, 0]);
            }
        }
        finally
        {
            LibC.closedir(directory);
        }
        return names;
    }
}
