using System.Buffers.Binary;
using System.Text;
using Xar.Archive;
using Xar.Runtime;
using Xar.SquashFs;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;
using Xar.SquashFs.Reading;

namespace Xar.Cli;

/// <summary>ls, cat, extract and info over an opened image; shared by `xar squashfs …` and `xar …` on archives.</summary>
internal static class ImageInspection
{
    public static void List(OpenedImage opened, string path, bool longFormat, bool recursive, TextWriter output)
    {
        var image = opened.Image;
        var start = image.Find(path) ?? throw new IOException($"{opened.Path}: {path}: no such entry in the image");
        var entries = !start.IsDirectory ? [start]
            : recursive ? image.EnumerateTree(start).Where(e => !ReferenceEquals(e, start) && e.Path != start.Path)
            : image.ListDirectory(start);
        foreach (var entry in entries)
        {
            string name = recursive || !start.IsDirectory ? entry.Path.TrimStart('/') : entry.Name;
            output.WriteLine(longFormat ? LongLine(entry, name) : name);
        }
    }

    /// <summary>`ls --json`: every entry of PATH (or below it, recursively) with its full metadata.</summary>
    public static void ListJson(OpenedImage opened, string path, bool recursive, TextWriter output)
    {
        var image = opened.Image;
        var start = image.Find(path) ?? throw new IOException($"{opened.Path}: {path}: no such entry in the image");
        var entries = !start.IsDirectory ? [start]
            : recursive ? image.EnumerateTree(start).Where(e => !ReferenceEquals(e, start) && e.Path != start.Path)
            : image.ListDirectory(start);
        JsonReports.Write(output, new ListReport(JsonReports.ListFormat, opened.Path, start.Path,
            [.. entries.Select(JsonReports.Entry)]));
    }

    private static string LongLine(SquashFsEntry entry, string name)
    {
        string size = entry.Type is SquashFsEntryType.CharacterDevice or SquashFsEntryType.BlockDevice
            ? $"{entry.DeviceMajor},{entry.DeviceMinor}"
            : entry.Size.ToString();
        string target = entry.IsSymlink ? " -> " + entry.SymlinkTarget : "";
        return $"{ModeString(entry)} {entry.Uid}/{entry.Gid} {size,10} {entry.ModificationTime.UtcDateTime:yyyy-MM-dd HH:mm} {name}{target}";
    }

    public static string ModeString(SquashFsEntry entry)
    {
        var mode = new StringBuilder(10);
        mode.Append(entry.Type switch
        {
            SquashFsEntryType.Directory => 'd',
            SquashFsEntryType.Symlink => 'l',
            SquashFsEntryType.CharacterDevice => 'c',
            SquashFsEntryType.BlockDevice => 'b',
            SquashFsEntryType.Fifo => 'p',
            SquashFsEntryType.Socket => 's',
            _ => '-',
        });
        int bits = (int)entry.Permissions;
        for (int shift = 6; shift >= 0; shift -= 3)
        {
            int triple = (bits >> shift) & 7;
            bool special = shift switch { 6 => (bits & 0x800) != 0, 3 => (bits & 0x400) != 0, _ => (bits & 0x200) != 0 };
            char execute = shift == 0 ? (special ? ((triple & 1) != 0 ? 't' : 'T') : (triple & 1) != 0 ? 'x' : '-')
                                      : (special ? ((triple & 1) != 0 ? 's' : 'S') : (triple & 1) != 0 ? 'x' : '-');
            mode.Append((triple & 4) != 0 ? 'r' : '-').Append((triple & 2) != 0 ? 'w' : '-').Append(execute);
        }
        return mode.ToString();
    }

    public static void Cat(OpenedImage opened, IEnumerable<string> paths, Stream output)
    {
        foreach (var path in paths)
        {
            var entry = opened.Image.Find(path) ?? throw new IOException($"{opened.Path}: {path}: no such entry in the image");
            if (entry.IsSymlink)
                entry = opened.Image.Find(ResolveSymlink(entry)) ?? throw new IOException($"{opened.Path}: {path}: symlink to {entry.SymlinkTarget}, which is not in the image");
            if (!entry.IsRegularFile)
                throw new IOException($"{opened.Path}: {path}: not a regular file");
            using var content = opened.Image.OpenRead(entry);
            content.CopyTo(output, 1 << 20);
        }
        output.Flush();
    }

    /// <summary>Resolves a symlink's target relative to its directory (absolute targets are image-absolute here).</summary>
    private static string ResolveSymlink(SquashFsEntry link)
    {
        string target = link.SymlinkTarget!;
        if (target.StartsWith('/')) return target;
        string directory = link.Path.Contains('/') ? link.Path[..link.Path.LastIndexOf('/')] : "";
        var parts = new List<string>();
        foreach (var part in (directory + "/" + target).Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>
    /// Extracts into <paramref name="destination"/>. A destination that does not exist yet is made
    /// whole or not at all: the tree is extracted beside it under a temporary name and renamed into
    /// place when complete, and removed on a failure or an interrupting signal. Into an existing
    /// directory entries are added as they come (a failure leaves those already written).
    /// </summary>
    public static void Extract(OpenedImage opened, string destination, string[] paths, bool overwrite, TextWriter output, TextWriter errors, OperationProgress? progress = null)
    {
        using var interrupted = new CancellationTokenSource();
        var options = new ExtractOptions
        {
            CancellationToken = interrupted.Token,
            Overwrite = overwrite,
            RestoreOwners = Environment.UserName == "root",
            RestoreXattrs = true,
            Warning = (entry, message) => errors.WriteLine($"xar: warning: {entry.Path}: {message}"),
            Progress = progress,
        };
        ExtractionSummary summary;
        if (Path.Exists(destination))
        {
            summary = opened.Image.ExtractTo(destination, options, paths);
        }
        else
        {
            string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination));
            string temporary = Path.Combine(Path.GetDirectoryName(full) ?? "/", $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
            // On a signal the extraction is stopped and awaited before the tree is removed: the
            // extractor's threads would otherwise go on creating entries in directories being removed.
            using var stopped = new ManualResetEventSlim();
            using (InterruptCleanup.Register(() =>
                   {
                       interrupted.Cancel();
                       stopped.Wait(TimeSpan.FromSeconds(30));
                       TreeRemoval.Remove(temporary);
                   }))
            {
                try
                {
                    summary = opened.Image.ExtractTo(temporary, options, paths);
                    // Throws IOException if something appeared at the destination meanwhile: it is never replaced.
                    Directory.Move(temporary, full);
                }
                catch
                {
                    TreeRemoval.Remove(temporary);
                    throw;
                }
                finally
                {
                    stopped.Set();
                }
            }
        }
        output.WriteLine($"{destination}: {summary.Files:N0} files ({summary.FileBytes:N0} bytes), {summary.Directories:N0} directories, " +
                         $"{summary.Symlinks:N0} symlinks, {summary.HardLinks:N0} hard links" +
                         (summary.Skipped > 0 ? $", {summary.Skipped:N0} skipped" : ""));
    }

    public static void Info(OpenedImage opened, TextWriter output)
    {
        var image = opened.Image;
        var sb = image.Superblock;
        if (opened.Archive is { } archive)
        {
            output.WriteLine($"archive:       {opened.Path}");
            output.WriteLine($"layout:        {archive.Layout.ToString().ToLowerInvariant()} (header at {archive.HeaderOffset}, image at {archive.ImageOffset})");
            foreach (var (key, value) in archive.Header.Entries)
                output.WriteLine($"  {key}=\"{value}\"");
        }
        else
        {
            output.WriteLine($"image:         {opened.Path}");
        }
        var settings = image.CompressionSettings;
        output.WriteLine($"format:        SquashFS {sb.VersionMajor}.{sb.VersionMinor}, created {DateTimeOffset.FromUnixTimeSeconds(sb.ModificationTime).UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
        output.WriteLine($"compression:   {Describe(settings, sb)}");
        output.WriteLine($"block size:    {sb.BlockSize:N0}");
        output.WriteLine($"inodes:        {sb.InodeCount:N0}");
        output.WriteLine($"fragments:     {sb.FragmentCount:N0}");
        output.WriteLine($"ids:           {sb.IdCount:N0}");
        output.WriteLine($"xattr ids:     {image.XattrIdCount:N0}");
        output.WriteLine($"flags:         0x{(ushort)sb.Flags:x4} ({sb.Flags})");
        output.WriteLine($"bytes used:    {sb.BytesUsed:N0}");
        foreach (var (name, start, length) in TableRegions(opened))
            output.WriteLine($"{name + ":",-15}{length,12:N0} bytes at {start:N0}");
        output.WriteLine("parts:         files, bytes, stored in the image (compressed)");
        foreach (var part in ImageParts.Measure(image))
            output.WriteLine($"  {part.Name + ":",-34}{part.Files,8:N0} files {part.Size,15:N0} bytes {part.StoredSize,14:N0} stored");
    }

    private static string Describe(CompressionSettings settings, Superblock sb)
    {
        string name = CompressionSettings.Name(settings.Algorithm);
        bool uncompressedData = (sb.Flags & SquashFsFlags.UncompressedData) != 0;
        string level = settings.Algorithm switch
        {
            CompressionAlgorithm.Gzip or CompressionAlgorithm.Zstd => $" level {settings.Level}",
            CompressionAlgorithm.Lz4 => settings.Level > 0 ? " (high compression)" : "",
            CompressionAlgorithm.Xz => settings.XzDictionarySize is { } d ? $" dictionary {d:N0}" : "",
            _ => "",
        };
        return uncompressedData && (sb.Flags & SquashFsFlags.UncompressedInodes) != 0 ? "none (stored)" : name + level;
    }

    /// <summary>Where each table lies: a table ends where the next one's blocks begin (the kernel's own rule).</summary>
    public static List<(string Name, ulong Start, ulong Length)> TableRegions(OpenedImage opened)
    {
        var sb = opened.Image.Superblock;
        using var file = new FileStream(opened.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        ulong ReadU64(ulong position)
        {
            Span<byte> value = stackalloc byte[8];
            file.Position = opened.Image.ImageOffset + (long)position;
            file.ReadExactly(value);
            return BinaryPrimitives.ReadUInt64LittleEndian(value);
        }
        ulong FirstBlock(ulong indexStart, ulong count) => count == 0 ? indexStart : ReadU64(indexStart);
        ulong fragmentBlocks = FirstBlock(sb.FragmentTableStart, sb.FragmentCount);
        ulong exportBlocks = sb.HasExportTable ? FirstBlock(sb.ExportTableStart, sb.InodeCount) : ulong.MaxValue;
        ulong idBlocks = FirstBlock(sb.IdTableStart, sb.IdCount);
        ulong xattrStart = sb.HasXattrs ? ReadU64(sb.XattrIdTableStart) : ulong.MaxValue;
        ulong afterFragments = Math.Min(exportBlocks, idBlocks);
        var regions = new List<(string, ulong, ulong)>
        {
            ("data", (ulong)SquashFsConstants.SuperblockSize, sb.InodeTableStart - SquashFsConstants.SuperblockSize),
            ("inode table", sb.InodeTableStart, sb.DirectoryTableStart - sb.InodeTableStart),
            ("directories", sb.DirectoryTableStart, fragmentBlocks - sb.DirectoryTableStart),
            ("fragment table", fragmentBlocks, afterFragments - fragmentBlocks),
        };
        if (sb.HasExportTable) regions.Add(("export table", exportBlocks, idBlocks - exportBlocks));
        regions.Add(("id table", idBlocks, Math.Min(xattrStart, sb.BytesUsed) - idBlocks));
        if (sb.HasXattrs) regions.Add(("xattrs", xattrStart, sb.BytesUsed - xattrStart));
        return regions;
    }
}
