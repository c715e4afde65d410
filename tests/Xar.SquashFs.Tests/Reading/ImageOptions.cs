using System.Globalization;
using System.Text;
using Xar.SquashFs.Format;
using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>The mksquashfs option mixes every reading test runs against.</summary>
public static class ImageOptions
{
    public static readonly string[] All =
    [
        "",
        "-comp gzip -Xcompression-level 1",
        "-noI -noD -noF -noX",
        "-no-fragments",
        "-always-use-fragments",
        "-no-duplicates",
        "-no-exports",
        "-no-xattrs",
        "-b 4K",
        "-b 64K",
        "-b 1M -always-use-fragments",
        "-comp zstd",
        "-comp zstd -Xcompression-level 3 -b 64K",
        "-comp xz",
        "-comp xz -Xbcj x86 -Xdict-size 50%",
        "-comp lz4",
        "-comp lz4 -Xhc -noF",
        "-comp lzo",
        "-comp lzma",
    ];

    public static TheoryData<string> Mixes()
    {
        var data = new TheoryData<string>();
        foreach (var options in All) data.Add(options);
        return data;
    }

    internal static string RichImage(string options) => ImageCache.Image(TestTrees.RichTreeName, TestTrees.BuildRich, options);
    internal static string RichTree => ImageCache.Tree(TestTrees.RichTreeName, TestTrees.BuildRich);
    internal static string WideImage(string options) => ImageCache.Image(TestTrees.WideTreeName, TestTrees.BuildWide, options);
}

/// <summary>Formats entries the way unsquashfs -lln does (numeric owners, UTC times with TZ=UTC).</summary>
internal static class UnsquashfsListing
{
    public static string Format(SquashFsEntry entry)
    {
        var line = new StringBuilder();
        string uid = entry.Uid.ToString(CultureInfo.InvariantCulture);
        string gid = entry.Gid.ToString(CultureInfo.InvariantCulture);
        line.Append(ModeString(entry)).Append(' ').Append(uid).Append('/').Append(gid).Append(' ');
        int pad = 25 - uid.Length - gid.Length;
        if (entry.Type is SquashFsEntryType.CharacterDevice or SquashFsEntryType.BlockDevice)
        {
            // unsquashfs prints rdev >> 8 and rdev & 0xff of the on-disk encoding.
            uint rdev = SquashFsConstants.EncodeDevice(entry.DeviceMajor, entry.DeviceMinor);
            line.Append(" ".PadLeft(Math.Max(pad - 7, 0)));
            line.Append((rdev >> 8).ToString(CultureInfo.InvariantCulture).PadLeft(3)).Append(',');
            line.Append((rdev & 0xFF).ToString(CultureInfo.InvariantCulture).PadLeft(3)).Append(' ');
        }
        else
        {
            long size = entry.Type is SquashFsEntryType.Fifo or SquashFsEntryType.Socket ? 0 : entry.Size;
            line.Append(size.ToString(CultureInfo.InvariantCulture).PadLeft(Math.Max(pad, 0))).Append(' ');
        }
        line.Append(entry.ModificationTime.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).Append(' ');
        line.Append("squashfs-root").Append(entry.Path == "/" ? "" : entry.Path);
        if (entry.IsSymlink) line.Append(" -> ").Append(entry.SymlinkTarget);
        return line.ToString();
    }

    private static string ModeString(SquashFsEntry entry)
    {
        var mode = (int)entry.Permissions;
        var chars = new char[10];
        chars[0] = entry.Type switch
        {
            SquashFsEntryType.Directory => 'd',
            SquashFsEntryType.Symlink => 'l',
            SquashFsEntryType.BlockDevice => 'b',
            SquashFsEntryType.CharacterDevice => 'c',
            SquashFsEntryType.Fifo => 'p',
            SquashFsEntryType.Socket => 's',
            _ => '-',
        };
        for (int i = 0; i < 9; i++)
            chars[1 + i] = (mode & (1 << (8 - i))) != 0 ? "rwxrwxrwx"[i] : '-';
        if ((mode & 0x800) != 0) chars[3] = chars[3] == 'x' ? 's' : 'S';
        if ((mode & 0x400) != 0) chars[6] = chars[6] == 'x' ? 's' : 'S';
        if ((mode & 0x200) != 0) chars[9] = chars[9] == 'x' ? 't' : 'T';
        return new string(chars);
    }
}
