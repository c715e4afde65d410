using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Xar.Interop;

namespace Xar.SquashFs.Tests.Support;

/// <summary>What one path looks like on disk, as far as a SquashFS image can preserve it.</summary>
internal sealed record EntryState(char Type, int Permissions, long Size, string? ContentHash, string? LinkTarget, long ModificationTime,
    uint RdevMajor, uint RdevMinor, int LinkCount, string? HardLinkGroup, uint Uid, uint Gid);

/// <summary>
/// A comparable description of a directory tree: the root (".") and every path below it with its
/// type, mode (with the set-id and sticky bits), size, content hash, link target, mtime (of a
/// symlink itself), device number, link count, owner (when asked) and hard-link group (the first
/// path, in ordinal order, of the set of names sharing an inode). Directories have no size, link
/// count or group: those are the file system's bookkeeping, not the image's.
/// </summary>
internal static class TreeSnapshot
{
    public static SortedDictionary<string, EntryState> Capture(string root, bool withOwners = false)
    {
        var raw = new List<(string Path, StatX Stat)> { (".", Stat(root)) };
        Walk(root, "", raw);
        var groups = raw.Where(e => (e.Stat.Mode & 0xF000) != 0x4000 && e.Stat.Nlink > 1)
            .GroupBy(e => (e.Stat.DevMajor, e.Stat.DevMinor, e.Stat.Ino))
            .ToDictionary(g => g.Key, g => g.Select(e => e.Path).Min(StringComparer.Ordinal)!);
        var result = new SortedDictionary<string, EntryState>(StringComparer.Ordinal);
        foreach (var (path, st) in raw)
        {
            string full = Path.Combine(root, path);
            char type = (st.Mode & 0xF000) switch
            {
                0x4000 => 'd', 0x8000 => 'f', 0xA000 => 'l', 0x2000 => 'c', 0x6000 => 'b', 0x1000 => 'p', 0xC000 => 's', _ => '?',
            };
            string? hash = type == 'f' ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(full))) : null;
            string? target = type == 'l' ? new FileInfo(full).LinkTarget : null;
            groups.TryGetValue((st.DevMajor, st.DevMinor, st.Ino), out string? group);
            bool directory = type == 'd';
            bool device = type is 'c' or 'b';
            result[path] = new EntryState(type, st.Mode & 0xFFF, directory ? 0 : (long)st.Size, hash, target, st.Mtime.Seconds,
                device ? st.RdevMajor : 0, device ? st.RdevMinor : 0, directory ? 0 : (int)st.Nlink, directory ? null : group,
                withOwners ? st.Uid : 0, withOwners ? st.Gid : 0);
        }
        return result;
    }

    /// <summary>Fails with the differing paths (the first 20, and how many), so a failure says what differs.</summary>
    /// <param name="compareRoot">False where the root existed before the tree was written into it.</param>
    public static void ShouldMatch(this SortedDictionary<string, EntryState> actual, SortedDictionary<string, EntryState> expected, bool compareRoot = true)
    {
        var problems = new List<string>();
        foreach (var (path, state) in expected)
        {
            if (!compareRoot && path == ".") continue;
            if (!actual.TryGetValue(path, out var got)) problems.Add($"missing {path}");
            else if (got != state) problems.Add($"{path}: expected {state}, got {got}");
        }
        foreach (var path in actual.Keys.Except(expected.Keys)) problems.Add($"unexpected {path}");
        problems.Take(20).Should().BeEmpty($"{problems.Count} paths differ");
    }

    private static unsafe void Walk(string root, string relative, List<(string, StatX)> into)
    {
        string full = relative.Length == 0 ? root : Path.Combine(root, relative);
        foreach (var entry in Directory.EnumerateFileSystemEntries(full))
        {
            string name = Path.GetFileName(entry);
            string rel = relative.Length == 0 ? name : relative + "/" + name;
            var st = Stat(entry);
            into.Add((rel, st));
            if ((st.Mode & 0xF000) == 0x4000) Walk(root, rel, into);
        }
    }

    public static unsafe StatX Stat(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        StatX st;
        fixed (byte* p = bytes)
        {
            if (LibC.statx(LibC.AT_FDCWD, p, LibC.AT_SYMLINK_NOFOLLOW, StatX.BasicStats, &st) != 0)
                throw new IOException($"{path}: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        }
        return st;
    }
}
