using System.Text;

namespace Xar.SquashFs.Tests.Support;

/// <summary>
/// Generates a varied tree from a seed: UTF-8 names, empty, small, multi-block, exact-multiple and
/// sparse files, duplicates, symlinks (relative, absolute, dangling), hard links, fifos, a char
/// device, deep paths, and a directory with more than 256 entries and a listing over 8 KiB.
/// </summary>
internal static class TreeGenerator
{
    private static readonly string[] NameParts = ["a", "readme", "données", "日本語", "файл", "emoji😀", "x y", "UPPER", "tab\tname", "dash-", "_init_", "é", "zz", "0001"];

    public static void Generate(string root, int seed, int blockSize)
    {
        var random = new Random(seed);
        Directory.CreateDirectory(root);
        var directories = new List<string> { root };
        for (int i = 0; i < 12; i++)
        {
            string parent = directories[random.Next(directories.Count)];
            string dir = Path.Combine(parent, Name(random, i));
            Directory.CreateDirectory(dir);
            directories.Add(dir);
        }

        string deep = root;
        for (int i = 0; i < 40; i++) deep = Path.Combine(deep, $"level{i}");
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "bottom.txt"), "deep");

        string wide = Path.Combine(root, "wide");
        Directory.CreateDirectory(wide);
        for (int i = 0; i < 300; i++)
            File.WriteAllText(Path.Combine(wide, $"entry-with-a-rather-long-name-{i:D4}-{new string('n', i % 40)}.py"), $"# {i}\n");

        var files = new List<string>();
        for (int i = 0; i < 60; i++)
        {
            string dir = directories[random.Next(directories.Count)];
            string path = Path.Combine(dir, $"{Name(random, i)}.{i}");
            long size = (i % 10) switch
            {
                0 => 0,
                1 => blockSize,
                2 => blockSize * 3L,
                3 => blockSize * 2L + random.Next(1, blockSize),
                4 => random.Next(1, 64),
                _ => random.Next(1, blockSize / 2),
            };
            var content = new byte[size];
            if (i % 3 == 0) random.NextBytes(content); // incompressible
            else for (int b = 0; b < content.Length; b++) content[b] = (byte)"abcdefgh\n"[random.Next(9)];
            File.WriteAllBytes(path, content);
            files.Add(path);
        }

        // Same content under several names: stored once when deduplicating.
        File.Copy(files[3], Path.Combine(root, "dup-of-3"));
        File.Copy(files[13], Path.Combine(directories[1], "dup-of-13"));

        // Sparse: holes read as zeros, some blocks entirely zero, a data block in between.
        string sparse = Path.Combine(root, "sparse.bin");
        using (var s = new FileStream(sparse, FileMode.Create))
        {
            s.SetLength(blockSize * 9L + 123);
            s.Position = blockSize * 4L + 7;
            s.Write("data in the middle"u8);
        }

        File.WriteAllBytes(Path.Combine(root, "zeros-exact"), new byte[blockSize * 2]);

        File.CreateSymbolicLink(Path.Combine(root, "link-relative"), Path.GetRelativePath(root, files[5]));
        File.CreateSymbolicLink(Path.Combine(root, "link-absolute"), "/usr/bin/env");
        File.CreateSymbolicLink(Path.Combine(directories[2], "dangling"), "../does/not/exist");
        Directory.CreateSymbolicLink(Path.Combine(root, "link-to-dir"), "wide");

        File.WriteAllText(Path.Combine(root, "hard-a"), "shared inode\n");
        Link(Path.Combine(root, "hard-a"), Path.Combine(directories[3], "hard-b"));
        Link(Path.Combine(root, "hard-a"), Path.Combine(root, "hard-c"));

        Run.Checked("mkfifo", [Path.Combine(root, "fifo")]);
        Run.Checked("mknod", [Path.Combine(root, "null-device"), "c", "1", "3"]);

        File.SetUnixFileMode(files[7], UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.SetUser);
        File.SetUnixFileMode(directories[4], (UnixFileMode)Convert.ToInt32("1777", 8));
        File.SetUnixFileMode(files[8], UnixFileMode.None);
        File.WriteAllText(Path.Combine(root, new string('L', 255)), "longest name");

        var stamp = new DateTime(2021, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        foreach (var f in files.Take(20)) File.SetLastWriteTimeUtc(f, stamp.AddSeconds(random.Next(100000)));
    }

    private static string Name(Random random, int i) =>
        NameParts[random.Next(NameParts.Length)] + NameParts[random.Next(NameParts.Length)] + i;

    private static void Link(string existing, string newName) => Run.Checked("ln", [existing, newName]);
}
