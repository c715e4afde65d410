using System.Runtime.InteropServices;
using System.Text;
using Xar.Interop;
using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>Source trees for mksquashfs that exercise every part of the format.</summary>
internal static partial class TestTrees
{
    public const string RichTreeName = "rich";
    public const string WideTreeName = "wide";

    /// <summary>Names in the wide tree's big directory.</summary>
    public const int WideEntries = 3000;

    public static readonly string LongName = new('n', 255);

    /// <summary>
    /// Every kind of entry: UTF-8 and 255-byte names, empty / small / multi-block / block-multiple /
    /// sparse / duplicate files, relative, absolute, dangling and directory symlinks, hard links
    /// across directories, FIFOs, sockets, devices (as root), special permission bits, a deep
    /// path, a directory over 256 entries with an 8 KiB+ listing, xattrs (inline, out of line,
    /// shared), and several owners.
    /// </summary>
    public static void BuildRich(string root)
    {
        var random = new Random(20240601);
        byte[] RandomBytes(int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }

        File.WriteAllBytes(Path.Combine(root, "empty.txt"), []);
        File.WriteAllText(Path.Combine(root, "small.txt"), "hello\n");
        File.WriteAllText(Path.Combine(root, "héllo wörld.txt"), "accents\n");
        Directory.CreateDirectory(Path.Combine(root, "日本語"));
        File.WriteAllText(Path.Combine(root, "日本語", "ファイル.txt"), "こんにちは\n");
        File.WriteAllText(Path.Combine(root, "emoji_😀.txt"), "smile\n");
        File.WriteAllText(Path.Combine(root, LongName), "a 255-byte name\n");

        string blocks = Directory.CreateDirectory(Path.Combine(root, "blocks")).FullName;
        File.WriteAllBytes(Path.Combine(blocks, "random-2.5M.bin"), RandomBytes(2_621_440 + 123));
        var text = new StringBuilder();
        for (int i = 0; text.Length < 600_000; i++) text.Append($"line {i} of a compressible text file\n");
        File.WriteAllText(Path.Combine(blocks, "text-600k.txt"), text.ToString());
        File.WriteAllBytes(Path.Combine(blocks, "exact-4k.bin"), RandomBytes(4096));
        File.WriteAllBytes(Path.Combine(blocks, "exact-128k.bin"), RandomBytes(131_072));
        File.WriteAllBytes(Path.Combine(blocks, "exact-1M.bin"), RandomBytes(1 << 20));
        File.WriteAllBytes(Path.Combine(blocks, "odd-70000.bin"), RandomBytes(70_000));

        string sparse = Directory.CreateDirectory(Path.Combine(root, "sparse")).FullName;
        using (var holes = File.Create(Path.Combine(sparse, "holes.bin")))
        {
            holes.Write(RandomBytes(1000));
            holes.Position = 1_572_864;
            holes.Write(RandomBytes(5000));
            holes.SetLength(3 << 20);
        }
        using (var empty = File.Create(Path.Combine(sparse, "all-holes.bin"))) empty.SetLength(2 << 20);
        using (var tail = File.Create(Path.Combine(sparse, "tail-hole.bin")))
        {
            tail.Write(RandomBytes(1 << 20));
            tail.SetLength(2_621_440 + 77);
        }

        string links = Directory.CreateDirectory(Path.Combine(root, "links")).FullName;
        File.CreateSymbolicLink(Path.Combine(links, "relative"), "../small.txt");
        File.CreateSymbolicLink(Path.Combine(links, "absolute"), "/etc/hostname");
        File.CreateSymbolicLink(Path.Combine(links, "dangling"), "does/not/exist");
        File.CreateSymbolicLink(Path.Combine(links, "directory"), "../blocks");
        File.CreateSymbolicLink(Path.Combine(links, "escape"), "../../../../../../tmp");
        SetTime(Path.Combine(links, "relative"), 1_000_000_000);

        string hard = Directory.CreateDirectory(Path.Combine(root, "hard")).FullName;
        File.WriteAllText(Path.Combine(hard, "a"), "hard-linked content\n");
        Link(Path.Combine(hard, "a"), Path.Combine(hard, "b"));
        Directory.CreateDirectory(Path.Combine(root, "other"));
        Link(Path.Combine(hard, "a"), Path.Combine(root, "other", "c"));

        string special = Directory.CreateDirectory(Path.Combine(root, "special")).FullName;
        Check(LibC.MknodAt(LibC.AT_FDCWD, Native(Path.Combine(special, "fifo")), LibC.S_IFIFO | 0x1A4, 0), "mkfifo");
        // mknod rather than bind(2): .NET unlinks a bound socket's file when the socket closes.
        Check(LibC.MknodAt(LibC.AT_FDCWD, Native(Path.Combine(special, "socket")), LibC.S_IFSOCK | 0x1ED, 0), "mknod socket");
        if (SquashFsTools.IsRoot)
        {
            Check(LibC.MknodAt(LibC.AT_FDCWD, Native(Path.Combine(special, "null")), LibC.S_IFCHR | 0x1B6, LibC.MakeDevice(1, 3)), "mknod c");
            Check(LibC.MknodAt(LibC.AT_FDCWD, Native(Path.Combine(special, "big-minor")), LibC.S_IFCHR | 0x1A4, LibC.MakeDevice(300, 70000)), "mknod c");
            Check(LibC.MknodAt(LibC.AT_FDCWD, Native(Path.Combine(special, "loop")), LibC.S_IFBLK | 0x1A0, LibC.MakeDevice(7, 0)), "mknod b");
        }

        string perm = Directory.CreateDirectory(Path.Combine(root, "perm")).FullName;
        File.WriteAllText(Path.Combine(perm, "setuid"), "#!/bin/sh\n");
        SetMode(Path.Combine(perm, "setuid"), "4755");
        File.WriteAllText(Path.Combine(perm, "setgid"), "#!/bin/sh\n");
        SetMode(Path.Combine(perm, "setgid"), "2750");
        File.WriteAllText(Path.Combine(perm, "none"), "no permissions\n");
        SetMode(Path.Combine(perm, "none"), "0");
        Directory.CreateDirectory(Path.Combine(perm, "sticky"));
        SetMode(Path.Combine(perm, "sticky"), "1777");
        string readOnly = Directory.CreateDirectory(Path.Combine(perm, "read-only")).FullName;
        File.WriteAllText(Path.Combine(readOnly, "inside.txt"), "in a read-only directory\n");
        SetMode(readOnly, "555");

        string deep = root;
        for (int i = 0; i < 60; i++) deep = Directory.CreateDirectory(Path.Combine(deep, $"d{i:D2}")).FullName;
        File.WriteAllText(Path.Combine(deep, "leaf.txt"), "deep\n");

        string big = Directory.CreateDirectory(Path.Combine(root, "big")).FullName;
        for (int i = 0; i < 700; i++)
            File.WriteAllText(Path.Combine(big, $"entry-{i:D4}-with-a-fairly-long-name-to-fill-the-listing.txt"), $"{i}\n");

        string duplicates = Directory.CreateDirectory(Path.Combine(root, "dup")).FullName;
        File.WriteAllText(Path.Combine(duplicates, "copy1.txt"), "same content\n");
        File.WriteAllText(Path.Combine(duplicates, "copy2.txt"), "same content\n");
        File.Copy(Path.Combine(blocks, "random-2.5M.bin"), Path.Combine(duplicates, "random-copy.bin"));

        string xattrs = Directory.CreateDirectory(Path.Combine(root, "xattr")).FullName;
        File.WriteAllText(Path.Combine(xattrs, "one.txt"), "xattrs\n");
        File.WriteAllText(Path.Combine(xattrs, "two.txt"), "same xattrs\n");
        foreach (var name in new[] { "one.txt", "two.txt" })
        {
            SetXattr(Path.Combine(xattrs, name), "user.small", "v"u8.ToArray());
            SetXattr(Path.Combine(xattrs, name), "user.big", Enumerable.Range(0, 300).Select(i => (byte)i).ToArray());
        }
        SetXattr(xattrs, "user.directory", "on a directory"u8.ToArray());

        if (SquashFsTools.IsRoot)
        {
            Check(LibC.LChownAt(LibC.AT_FDCWD, Native(Path.Combine(root, "small.txt")), 1234, 5678), "chown");
            Check(LibC.LChownAt(LibC.AT_FDCWD, Native(Path.Combine(links, "absolute")), 4321, 8765), "chown");
            Check(LibC.LChownAt(LibC.AT_FDCWD, Native(big), 100, 100), "chown");
        }
        SetTime(Path.Combine(root, "small.txt"), 946_684_800);
        SetTime(Path.Combine(blocks, "exact-1M.bin"), 4_000_000_000);
        SetTime(big, 1_234_567_890);
    }

    /// <summary>A directory with <see cref="WideEntries"/> entries: many runs and directory index entries.</summary>
    public static void BuildWide(string root)
    {
        string wide = Directory.CreateDirectory(Path.Combine(root, "wide")).FullName;
        for (int i = 0; i < WideEntries; i++)
            File.WriteAllText(Path.Combine(wide, WideName(i)), i % 7 == 0 ? "" : $"content {i}\n");
        Directory.CreateDirectory(Path.Combine(wide, "zz-subdirectory"));
        File.WriteAllText(Path.Combine(root, "top.txt"), "top\n");
    }

    public const string FuzzTreeName = "fuzz";
    public const string CraftedTreeName = "crafted";

    /// <summary>Where the crafted tree's escape symlink points: extraction must never write there.</summary>
    public static readonly string EscapeTarget = ImageCache.Combine("escape-target");

    /// <summary>
    /// A small tree with every structure (for many fuzzing iterations): multi-block, sparse and
    /// fragment files, a directory with an index, symlinks, a hard link, a FIFO, a device, xattrs.
    /// </summary>
    public static void BuildFuzz(string root)
    {
        var random = new Random(99);
        var data = new byte[40_000];
        random.NextBytes(data);
        File.WriteAllBytes(Path.Combine(root, "random.bin"), data);
        File.WriteAllText(Path.Combine(root, "text.txt"), string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i}\n")));
        File.WriteAllText(Path.Combine(root, "small.txt"), "small\n");
        File.WriteAllBytes(Path.Combine(root, "empty"), []);
        using (var sparse = File.Create(Path.Combine(root, "sparse.bin")))
        {
            sparse.Write(data.AsSpan(0, 100));
            sparse.SetLength(30_000);
        }
        Link(Path.Combine(root, "small.txt"), Path.Combine(root, "hard.txt"));
        File.CreateSymbolicLink(Path.Combine(root, "link"), "small.txt");
        Check(LibC.MknodAt(LibC.AT_FDCWD, Native(Path.Combine(root, "fifo")), LibC.S_IFIFO | 0x1A4, 0), "mkfifo");
        if (SquashFsTools.IsRoot)
            Check(LibC.MknodAt(LibC.AT_FDCWD, Native(Path.Combine(root, "null")), LibC.S_IFCHR | 0x1B6, LibC.MakeDevice(1, 3)), "mknod");
        string many = Directory.CreateDirectory(Path.Combine(root, "many")).FullName;
        for (int i = 0; i < 300; i++)
            File.WriteAllText(Path.Combine(many, $"member-{i:D3}-with-a-longer-name"), i % 3 == 0 ? "" : $"{i}");
        string nested = Directory.CreateDirectory(Path.Combine(root, "a", "b", "c")).FullName;
        File.WriteAllText(Path.Combine(nested, "leaf"), "leaf");
        SetXattr(Path.Combine(root, "small.txt"), "user.k", "v"u8.ToArray());
        SetXattr(Path.Combine(root, "random.bin"), "user.big", new byte[200]);
    }

    /// <summary>A tree whose uncompressed image the corruption tests patch (tables under 8 KiB each).</summary>
    public static void BuildCrafted(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "self"));
        File.WriteAllText(Path.Combine(root, "self", "f"), "f");
        Directory.CreateDirectory(Path.Combine(root, "loop", "sub"));
        File.WriteAllText(Path.Combine(root, "loop", "sub", "back"), "back");
        Directory.CreateDirectory(Path.Combine(root, "dotdot"));
        File.WriteAllText(Path.Combine(root, "dotdot", "zz"), "zz");
        Directory.CreateDirectory(Path.Combine(root, "slash"));
        File.WriteAllText(Path.Combine(root, "slash", "a_b"), "a_b");
        Directory.CreateDirectory(Path.Combine(root, "escape", "evim"));
        File.CreateSymbolicLink(Path.Combine(root, "escape", "evil"), EscapeTarget);
        File.WriteAllText(Path.Combine(root, "escape", "evim", "pwned.txt"), "must not land outside");
        Directory.CreateDirectory(Path.Combine(root, "dup"));
        File.WriteAllText(Path.Combine(root, "dup", "x"), "x");
        File.WriteAllText(Path.Combine(root, "dup", "y"), "y");
        var data = new byte[300_000];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(Path.Combine(root, "blocks.bin"), data);
        File.WriteAllText(Path.Combine(root, "tail.txt"), "tail");
        File.CreateSymbolicLink(Path.Combine(root, "link"), "tail.txt");
    }

    public static string WideName(int i) => $"file-{(i * 7919) % 100000:D5}-{i:D4}-padding-padding-padding";

    public static void SetMode(string path, string octal) =>
        Check(LibC.FChmodAt(LibC.AT_FDCWD, Native(path), Convert.ToUInt32(octal, 8)), "chmod");

    public static void SetTime(string path, long seconds) =>
        Check(LibC.LUtimesAt(LibC.AT_FDCWD, Native(path), seconds), "utimensat");

    public static void SetXattr(string path, string name, byte[] value)
    {
        if (LSetXattrNative(path, name, value, (nuint)value.Length, 0) != 0)
            throw new IOException($"lsetxattr {path} {name}: errno {Marshal.GetLastPInvokeError()}");
    }

    public static Dictionary<string, byte[]> GetXattrs(string path)
    {
        var names = new byte[65536];
        nint length = LListXattrNative(path, names, (nuint)names.Length);
        if (length < 0) throw new IOException($"llistxattr {path}: errno {Marshal.GetLastPInvokeError()}");
        var result = new Dictionary<string, byte[]>();
        foreach (var name in Encoding.UTF8.GetString(names, 0, (int)length).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var value = new byte[65536];
            nint size = LGetXattrNative(path, name, value, (nuint)value.Length);
            if (size < 0) throw new IOException($"lgetxattr {path} {name}: errno {Marshal.GetLastPInvokeError()}");
            result[name] = value[..(int)size];
        }
        return result;
    }

    public static void Link(string existing, string link) =>
        Check(LibC.LinkAt(LibC.AT_FDCWD, Native(existing), Native(link)), "link");

    public static byte[] Native(string path) => [.. Encoding.UTF8.GetBytes(path), 0];

    private static void Check(int errno, string what)
    {
        if (errno != 0) throw new IOException($"{what}: errno {errno}");
    }

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LSetXattrNative(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LListXattrNative(string path, byte[] list, nuint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LGetXattrNative(string path, string name, byte[] value, nuint size);
}
