using System.Security.Cryptography;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>What lstat and a content hash say about one path of an extracted tree.</summary>
internal sealed record SnapshotEntry(
    string Type, string Mode, string Uid, string Gid, long Size, long MTime, int LinkCount, string Device,
    string? LinkTarget, string? ContentHash, string HardLinkGroup);

/// <summary>
/// A comparable description of a directory tree: type, permission bits (with suid/sgid/sticky),
/// owners, sizes, mtimes (of symlinks themselves), link counts, device numbers, symlink targets,
/// content hashes, and which paths are hard links of each other.
/// </summary>
internal static class TreeSnapshot
{
    public static SortedDictionary<string, SnapshotEntry> Capture(string root)
    {
        root = Path.GetFullPath(root).TrimEnd('/');
        string output = SquashFsTools.Run("find", [root, "-exec", "stat", "--printf", "%n\t%F\t%a\t%u\t%g\t%s\t%Y\t%h\t%i\t%t:%T\n", "{}", "+"]);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).ToList();
        var byInode = rows.GroupBy(r => r[8]).ToDictionary(g => g.Key, g => g.Select(r => Relative(root, r[0])).Order(StringComparer.Ordinal).ToList());
        var result = new SortedDictionary<string, SnapshotEntry>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            string full = row[0];
            string relative = Relative(root, full);
            string type = row[1];
            bool isDirectory = type == "directory";
            bool isFile = type.StartsWith("regular", StringComparison.Ordinal);
            bool isLink = type == "symbolic link";
            bool isDevice = type.Contains("special file", StringComparison.Ordinal);
            result[relative] = new SnapshotEntry(
                Type: type,
                Mode: row[2],
                Uid: row[3],
                Gid: row[4],
                // Directory sizes depend on the file system's bookkeeping, not on the image.
                Size: isDirectory ? 0 : long.Parse(row[5]),
                MTime: long.Parse(row[6]),
                LinkCount: isDirectory ? 0 : int.Parse(row[7]),
                Device: isDevice ? row[9] : "",
                LinkTarget: isLink ? new FileInfo(full).LinkTarget : null,
                ContentHash: isFile ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(full))) : null,
                HardLinkGroup: isDirectory ? "" : string.Join("|", byInode[row[8]]));
        }
        return result;
    }

    private static string Relative(string root, string full) => full == root ? "." : full[(root.Length + 1)..];

    /// <summary>Asserts two snapshots are equal, listing every difference.</summary>
    public static void ShouldMatch(this SortedDictionary<string, SnapshotEntry> actual, SortedDictionary<string, SnapshotEntry> expected,
        bool compareOwners = true, bool compareRoot = true)
    {
        var differences = new List<string>();
        foreach (var path in expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal))
        {
            if (!compareRoot && path == ".") continue;
            if (!expected.TryGetValue(path, out var want)) { differences.Add($"unexpected {path}"); continue; }
            if (!actual.TryGetValue(path, out var got)) { differences.Add($"missing {path}"); continue; }
            if (!compareOwners)
            {
                want = want with { Uid = "", Gid = "" };
                got = got with { Uid = "", Gid = "" };
            }
            if (want != got) differences.Add($"{path}: expected {want}, got {got}");
        }
        differences.Take(15).Should().BeEmpty($"{differences.Count} paths differ");
    }
}
