using Xar.Archive;
using Xar.SquashFs;

namespace Xar.Cli;

/// <summary>
/// What a build did, for its summary on a terminal and its --json report: the inputs, the regular
/// files the image holds (each inode once) and their bytes, the archive and image sizes, the
/// duplicate files stored once and the bytes that saved, the modules compiled, the time taken.
/// </summary>
internal sealed record BuildFigures
{
    public BuildFigures(XarWriteResult result, string inputs, OperationProgress progress, TimeSpan elapsed)
    {
        Result = result;
        Inputs = inputs;
        Files = progress.ImageFiles;
        FileBytes = progress.ImageFileBytes;
        DuplicateFiles = progress.DuplicateFiles;
        DuplicateBytes = progress.DuplicateBytes;
        Compiled = progress.Compiled;
        Elapsed = elapsed;
    }

    public XarWriteResult Result { get; }
    public string Inputs { get; }
    public long Files { get; }
    public long FileBytes { get; }
    public long DuplicateFiles { get; }
    public long DuplicateBytes { get; }
    public long Compiled { get; }
    public TimeSpan Elapsed { get; }

    /// <summary>The whole archive: launcher (self layout), header and image.</summary>
    public long ArchiveBytes => Result.ImageOffset + Result.ImageLength;

    public IEnumerable<(string Label, string Value)> Rows()
    {
        yield return ("inputs", Inputs);
        yield return ("files", $"{Files:N0} ({CacheCommand.FormatSize(FileBytes)})");
        string ratio = FileBytes > 0 ? $", {100.0 * Result.ImageLength / FileBytes:F0}% of the files" : "";
        yield return ("archive", $"{CacheCommand.FormatSize(ArchiveBytes)} (image {CacheCommand.FormatSize(Result.ImageLength)}{ratio})");
        yield return ("duplicates", DuplicateFiles == 0 ? "none" : $"{DuplicateFiles:N0} {(DuplicateFiles == 1 ? "file" : "files")} stored once, {CacheCommand.FormatSize(DuplicateBytes)} saved");
        yield return ("bytecode", Compiled == 0 ? "none" : $"{Compiled:N0} modules compiled");
        yield return ("time", $"{Elapsed.TotalSeconds:F1} s");
    }
}
