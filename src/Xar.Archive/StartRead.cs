using System.Globalization;

namespace Xar.Archive;

/// <summary>
/// The first <see cref="Length"/> bytes of the image file <see cref="Path"/> (relative to the image
/// root), which every start reads. The header's XAR_START_READS lists them in the order a start
/// reads them: a hint for the mount's server, which decompresses them while the program starts, so
/// the first reads of a fresh mount do not each wait for a block. The launcher does not read it.
/// </summary>
public sealed record StartRead
{
    /// <exception cref="ArgumentException">The path is not inside the image or holds what the header value cannot, or the length is not positive.</exception>
    public StartRead(string path, long length)
    {
        if (!IsImagePath(path) || length <= 0)
            throw new ArgumentException($"start read \"{path}\" of {length} bytes: not a path inside the image that a header value can hold, or no bytes");
        Path = path;
        Length = length;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Adds XAR_START_READS for <paramref name="reads"/> to <paramref name="header"/> (nothing for none).</summary>
    public static void WriteTo(XarHeaderFields header, IReadOnlyList<StartRead> reads)
    {
        if (reads.Count > 0)
            header.Extra[XarHeaderKeys.StartReads] = string.Join(':', reads);
    }

    /// <summary>The start reads of <paramref name="header"/> (XAR_START_READS; none without it).</summary>
    /// <exception cref="XarFormatException">An item is not PATH=BYTES with a path inside the image and a positive count.</exception>
    public static List<StartRead> FromHeader(XarHeader header, string archivePath)
    {
        var reads = new List<StartRead>();
        foreach (string item in header[XarHeaderKeys.StartReads]?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [])
        {
            int equals = item.LastIndexOf('=');
            if (equals <= 0 || !IsImagePath(item[..equals])
                || !long.TryParse(item.AsSpan(equals + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long length) || length <= 0)
                throw new XarFormatException(archivePath, $"{XarHeaderKeys.StartReads} item \"{item}\" is not PATH=BYTES (a path inside the image, a positive count)");
            reads.Add(new StartRead(item[..equals], length));
        }
        return reads;
    }

    /// <summary>
    /// Relative, without an empty or '..' segment, and without ':' (the items' separator) or what a
    /// header value may not hold ('"', '$', '`', '\', control characters).
    /// </summary>
    private static bool IsImagePath(string path) =>
        path.Length > 0 && !path.Any(c => c is ':' or '"' or '$' or '`' or '\\' or < ' ' or '\x7f')
        && path.Split('/').All(segment => segment is not ("" or ".."));

    /// <summary>As in the header: <c>PATH=BYTES</c>.</summary>
    public override string ToString() => Path + "=" + Length.ToString(CultureInfo.InvariantCulture);
}
