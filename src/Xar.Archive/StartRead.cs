using System.Globalization;

namespace Xar.Archive;

/// <summary>The first <paramref name="Length"/> bytes of the image file <paramref name="Path"/> (relative to the image root), which every start reads (<see cref="StartCommand.Reads"/>).</summary>
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

    /// <summary>
    /// Relative, without an empty or '..' segment, and without ':' (the items' separator) or what a
    /// header value may not hold ('"', '$', '`', '\', control characters).
    /// </summary>
    internal static bool IsImagePath(string path) =>
        path.Length > 0 && !path.Any(c => c is ':' or '"' or '$' or '`' or '\\' or < ' ' or '\x7f')
        && path.Split('/').All(segment => segment is not ("" or ".."));

    /// <summary>As in the header: <c>PATH=BYTES</c>.</summary>
    public override string ToString() => Path + "=" + Length.ToString(CultureInfo.InvariantCulture);
}
