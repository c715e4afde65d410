using System.Text.Json;
using System.Text.Json.Serialization;
using Xar.Archive;
using Xar.Runtime;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;
using Xar.SquashFs.Reading;

namespace Xar.Cli;

/// <summary>
/// The `--json` output of `info`, `ls`, `verify` and `cache list`: one JSON document on standard
/// output whose <c>format</c> field names its shape and version (docs/json-output.md). Fields are
/// only ever added within a version; a change of meaning gets a new one.
/// </summary>
internal static class JsonReports
{
    public const string InfoFormat = "xar-info/1";
    public const string ListFormat = "xar-ls/1";
    public const string VerifyFormat = "xar-verify/1";
    public const string CacheListFormat = "xar-cache-list/1";
    public const string BuildFormat = "xar-build/1";

    public static void Write<T>(TextWriter output, T report)
    {
        output.WriteLine(JsonSerializer.Serialize(report, typeof(T), JsonReportContext.Default));
    }

    public static InfoReport Info(OpenedImage opened, IEnumerable<(string Name, ulong Start, ulong Length)> tables)
    {
        var image = opened.Image;
        var sb = image.Superblock;
        var settings = image.CompressionSettings;
        ArchiveReport? archive = opened.Archive is { } xar
            ? new ArchiveReport(xar.Layout.ToString().ToLowerInvariant(), xar.HeaderOffset, xar.ImageOffset,
                [.. xar.Header.Entries.Select(e => new HeaderEntryReport(e.Key, e.Value))])
            : null;
        return new InfoReport(InfoFormat, opened.Path, archive, new ImageReport(
            $"{sb.VersionMajor}.{sb.VersionMinor}",
            sb.ModificationTime,
            CompressionSettings.Name(settings.Algorithm),
            settings.Algorithm is CompressionAlgorithm.Gzip or CompressionAlgorithm.Zstd or CompressionAlgorithm.Lz4 ? settings.Level : null,
            settings.XzDictionarySize,
            sb.BlockSize,
            sb.InodeCount,
            sb.FragmentCount,
            sb.IdCount,
            image.XattrIdCount,
            (ushort)sb.Flags,
            [.. Enum.GetValues<SquashFsFlags>().Where(flag => flag != SquashFsFlags.None && sb.Flags.HasFlag(flag)).Select(flag => flag.ToString())],
            sb.BytesUsed,
            [.. tables.Select(t => new TableReport(t.Name, t.Start, t.Length))],
            ImageParts.Measure(image)));
    }

    public static BuildReport Build(BuildFigures figures) => new(BuildFormat, figures.Result.Path, figures.Result.Layout.ToString().ToLowerInvariant(),
        figures.Inputs, figures.Files, figures.FileBytes, figures.ArchiveBytes, figures.Result.ImageOffset, figures.Result.ImageLength,
        figures.DuplicateFiles, figures.DuplicateBytes, figures.Compiled, figures.Result.ImageSha256, Math.Round(figures.Elapsed.TotalSeconds, 3));

    public static EntryReport Entry(SquashFsEntry entry) => new(
        entry.Path,
        entry.Name,
        entry.Type switch
        {
            SquashFsEntryType.Directory => "directory",
            SquashFsEntryType.RegularFile => "file",
            SquashFsEntryType.Symlink => "symlink",
            SquashFsEntryType.BlockDevice => "block-device",
            SquashFsEntryType.CharacterDevice => "char-device",
            SquashFsEntryType.Fifo => "fifo",
            _ => "socket",
        },
        (int)entry.Permissions,
        ImageInspection.ModeString(entry),
        entry.Uid,
        entry.Gid,
        entry.Size,
        entry.ModificationTimeSeconds,
        entry.InodeNumber,
        entry.LinkCount,
        entry.SymlinkTarget,
        entry.Type is SquashFsEntryType.CharacterDevice or SquashFsEntryType.BlockDevice ? entry.DeviceMajor : null,
        entry.Type is SquashFsEntryType.CharacterDevice or SquashFsEntryType.BlockDevice ? entry.DeviceMinor : null);

    public static CacheListReport CacheList(IReadOnlyList<CacheEntry> entries) => new(CacheListFormat,
        [.. entries.Select(e => new CacheEntryReport(e.Kind == CacheEntryKind.Extraction ? "extraction" : "mount", e.State, e.InUse,
            e.LastUse?.ToUnixTimeSeconds(), e.Size, e.Path, e.Archive))]);
}

internal sealed record InfoReport(string Format, string Path, ArchiveReport? Archive, ImageReport Image);

/// <param name="Header">Every header line in file order, duplicates included.</param>
internal sealed record ArchiveReport(string Layout, long HeaderOffset, long ImageOffset, IReadOnlyList<HeaderEntryReport> Header);

internal sealed record HeaderEntryReport(string Key, string Value);

/// <param name="Level">gzip and zstd: the level; lz4: 0 fast, else high compression; otherwise null.</param>
/// <param name="Created">The superblock's time, Unix seconds.</param>
internal sealed record ImageReport(string SquashfsVersion, long Created, string Compression, int? Level, int? XzDictionarySize, uint BlockSize,
    uint Inodes, uint Fragments, uint Ids, long XattrIds, int Flags, IReadOnlyList<string> FlagNames, ulong BytesUsed, IReadOnlyList<TableReport> Tables,
    IReadOnlyList<ImagePart> Parts);

internal sealed record TableReport(string Name, ulong Start, ulong Length);

internal sealed record ListReport(string Format, string Path, string Directory, IReadOnlyList<EntryReport> Entries);

/// <param name="Mode">Permission bits (0o7777 at most), as a number.</param>
/// <param name="Mtime">Unix seconds.</param>
internal sealed record EntryReport(string Path, string Name, string Type, int Mode, string ModeString, uint Uid, uint Gid, long Size, uint Mtime,
    uint Inode, uint Links, string? Target, uint? DeviceMajor, uint? DeviceMinor);

/// <param name="Result">"verified", "no-hash-recorded" or "failed".</param>
internal sealed record VerifyReport(string Format, string Path, string Result, string? ImageSha256, string? Error);

/// <param name="Files">Regular files in the image, each inode once; <paramref name="FileBytes"/> their sizes.</param>
/// <param name="DuplicateFiles">Files whose content was already in the image and was stored once; <paramref name="DuplicateBytes"/> their sizes.</param>
/// <param name="Compiled">Python modules compiled to bytecode.</param>
internal sealed record BuildReport(string Format, string Path, string Layout, string Inputs, long Files, long FileBytes, long ArchiveBytes,
    long ImageOffset, long ImageLength, long DuplicateFiles, long DuplicateBytes, long Compiled, string ImageSha256, double Seconds);

internal sealed record CacheListReport(string Format, IReadOnlyList<CacheEntryReport> Entries);

/// <param name="LastUse">Unix seconds, or null when unknown.</param>
internal sealed record CacheEntryReport(string Kind, string State, bool InUse, long? LastUse, long? Size, string Path, string? Archive);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(InfoReport))]
[JsonSerializable(typeof(ListReport))]
[JsonSerializable(typeof(VerifyReport))]
[JsonSerializable(typeof(CacheListReport))]
[JsonSerializable(typeof(BuildReport))]
internal sealed partial class JsonReportContext : JsonSerializerContext;
