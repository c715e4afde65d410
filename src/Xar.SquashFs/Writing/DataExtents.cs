using Xar.Interop;

namespace Xar.SquashFs.Writing;

/// <summary>
/// The ranges of a sparse input file that hold data, found with lseek SEEK_DATA/SEEK_HOLE, so
/// that blocks lying wholly in a hole become sparse blocks (block size 0, as an all-zero block
/// read from the file would) without reading gigabytes of zeros from a disk image.
/// </summary>
internal sealed class DataExtents
{
    /// <summary>Files shorter than this are read whole.</summary>
    public const long MinimumLength = 1 << 20;

    private readonly long[] _starts;
    private readonly long[] _ends;

    private DataExtents(List<(long Start, long End)> extents)
    {
        _starts = [.. extents.Select(e => e.Start)];
        _ends = [.. extents.Select(e => e.End)];
    }

    /// <summary>
    /// The data ranges of the first <paramref name="length"/> bytes of <paramref name="fd"/>, or
    /// null when the file has no holes or its file system cannot tell (then everything is read).
    /// </summary>
    public static DataExtents? Find(int fd, long length)
    {
        // A smaller file is read whole (its all-zero blocks still become sparse blocks): the
        // lseeks would cost more than its holes, and the writer's per-file path stays as it was.
        if (length < MinimumLength) return null;
        // A file that shrank since it was scanned is read, so that the reader reports the change
        // instead of its missing tail passing for a hole.
        if (LibC.lseek(fd, 0, LibC.SEEK_END) < length) return null;
        var extents = new List<(long Start, long End)>();
        long position = 0;
        while (position < length)
        {
            long data = LibC.lseek(fd, position, LibC.SEEK_DATA);
            if (data < 0)
            {
                if (LibC.LastError == LibC.ENXIO) break; // no data after position
                return null;
            }
            if (data >= length) break;
            long hole = LibC.lseek(fd, data, LibC.SEEK_HOLE);
            if (hole < 0) return null;
            extents.Add((data, Math.Min(hole, length)));
            position = hole;
        }
        return extents is [(0, var end)] && end == length ? null : new DataExtents(extents);
    }

    /// <summary>Whether [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) holds no data.</summary>
    public bool IsHole(long offset, long length)
    {
        // The first extent that ends after offset; the range is a hole if that extent starts at or after its end.
        int index = Array.BinarySearch(_ends, offset);
        index = index >= 0 ? index + 1 : ~index;
        return index == _ends.Length || _starts[index] >= offset + length;
    }
}
