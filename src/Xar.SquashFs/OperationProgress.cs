namespace Xar.SquashFs;

/// <summary>
/// How far a long operation (a build, an image write, an extraction) is: its phase and, within
/// it, items and bytes done out of those known so far. The working threads only add to
/// counters (no callback, no allocation per file); a display reads them on a timer of its own.
/// Also keeps the figures a build summary reports: what the image writer stored and what it
/// saved by storing duplicate files once, and how many modules were compiled.
/// </summary>
public sealed class OperationProgress
{
    private string _phase = "";
    private long _items, _itemsTotal, _bytes, _bytesTotal;
    private long _imageFiles, _imageFileBytes, _duplicateFiles, _duplicateBytes, _bytesWritten, _compiled;

    /// <summary>What is being done now, e.g. "writing image".</summary>
    public string Phase => Volatile.Read(ref _phase);

    /// <summary>Items (files, modules, entries) of the current phase done.</summary>
    public long Items => Interlocked.Read(ref _items);

    /// <summary>Items of the current phase known so far; 0 when the phase does not count them.</summary>
    public long ItemsTotal => Interlocked.Read(ref _itemsTotal);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Bytes of the current phase known so far; 0 when the phase does not count them.</summary>
    public long BytesTotal => Interlocked.Read(ref _bytesTotal);

    /// <summary>Regular files the image holds (each inode once) and their bytes, when it was written.</summary>
    public long ImageFiles => Interlocked.Read(ref _imageFiles);

    public long ImageFileBytes => Interlocked.Read(ref _imageFileBytes);

    /// <summary>Files whose content was already in the image, stored once, and the bytes that saved (before compression).</summary>
    public long DuplicateFiles => Interlocked.Read(ref _duplicateFiles);

    public long DuplicateBytes => Interlocked.Read(ref _duplicateBytes);

    /// <summary>Bytes of file data and fragments written to the image so far (compressed).</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Python modules compiled to bytecode by the build: the pycs the image holds.</summary>
    public long Compiled => Interlocked.Read(ref _compiled);

    /// <summary>Starts a phase: its counters start from zero, with the totals known so far.</summary>
    public void Begin(string phase, long itemsTotal = 0, long bytesTotal = 0)
    {
        Interlocked.Exchange(ref _items, 0);
        Interlocked.Exchange(ref _bytes, 0);
        Interlocked.Exchange(ref _itemsTotal, itemsTotal);
        Interlocked.Exchange(ref _bytesTotal, bytesTotal);
        Volatile.Write(ref _phase, phase);
    }

    /// <summary>More work found for the current phase (when it is not known at its start).</summary>
    public void Found(long items, long bytes)
    {
        Interlocked.Add(ref _itemsTotal, items);
        Interlocked.Add(ref _bytesTotal, bytes);
    }

    public void Advance(long items, long bytes)
    {
        Interlocked.Add(ref _items, items);
        Interlocked.Add(ref _bytes, bytes);
    }

    internal void ImageContent(long files, long bytes)
    {
        Interlocked.Exchange(ref _imageFiles, files);
        Interlocked.Exchange(ref _imageFileBytes, bytes);
        Interlocked.Exchange(ref _duplicateFiles, 0);
        Interlocked.Exchange(ref _duplicateBytes, 0);
        Interlocked.Exchange(ref _bytesWritten, 0);
    }

    /// <summary>A file found to be a duplicate: its bytes are done, and saved.</summary>
    internal void Duplicate(long bytes)
    {
        Interlocked.Increment(ref _duplicateFiles);
        Interlocked.Add(ref _duplicateBytes, bytes);
        Interlocked.Add(ref _bytes, bytes);
    }

    /// <summary>A block written: <paramref name="input"/> bytes of file data (a data block, a hole or a fragment block of tails) as <paramref name="output"/> bytes.</summary>
    internal void Written(long input, long output)
    {
        Interlocked.Add(ref _bytes, input);
        Interlocked.Add(ref _bytesWritten, output);
    }

    public void CompiledOne() => Interlocked.Increment(ref _compiled);
}
