using System.Text;

namespace Xar.Archive;

/// <summary>
/// Produces the header bytes exactly as the original builder's <c>XarFactory.go()</c> does
/// (docs/xar-format.md §4): the shebang, KEY="value" lines joined by '\n', the four trailer lines,
/// then '\n' padding to the end of the header.
/// </summary>
internal static class XarHeaderText
{
    /// <summary>The only header size we write: the original runtime reads exactly 4096 bytes and wants OFFSET "4096".</summary>
    public const int Size = 4096;

    /// <summary>
    /// The original sizes the header as align_up(128 + length of the text before "$OFFSET" and
    /// "$UUID" are substituted, 4096). Keeping within that rule makes our 4096-byte header the one
    /// the original builder would write for the same lines, not a text it would have put in 8192.
    /// </summary>
    public const int OriginalPlaceholderSlack = 128;

    private const string OffsetPlaceholder = "$OFFSET";
    private const string UuidPlaceholder = "$UUID";

    /// <summary>The header for an image at <paramref name="imageOffset"/>: <see cref="Size"/> bytes.</summary>
    /// <exception cref="ArgumentException">The lines do not fit in <see cref="Size"/> bytes by the original's rule.</exception>
    public static byte[] Format(XarHeaderFields fields, long imageOffset, string uuid, string imageSha256)
    {
        string offset = imageOffset.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string text = Compose(fields, offset, uuid, imageSha256);
        int textBytes = Encoding.UTF8.GetByteCount(text);
        // Bytes (not the original's characters, docs/xar-format.md P24) of the text with placeholders.
        int unexpandedBytes = textBytes - 2 * offset.Length - uuid.Length + 2 * OffsetPlaceholder.Length + UuidPlaceholder.Length;
        if (OriginalPlaceholderSlack + unexpandedBytes > Size)
            throw new ArgumentException(
                $"the header needs {unexpandedBytes} bytes; it must stay within {Size - OriginalPlaceholderSlack} " +
                $"(the original builder's {OriginalPlaceholderSlack}-byte slack inside {Size}) so that the original xarexec_fuse, " +
                $"which reads only the first {Size} bytes, can run the archive");
        byte[] header = new byte[Size];
        header.AsSpan().Fill((byte)'\n');
        Encoding.UTF8.GetBytes(text, header);
        return header;
    }

    private static string Compose(XarHeaderFields fields, string offset, string uuid, string imageSha256)
    {
        var text = new StringBuilder(1024);
        text.Append(fields.Shebang).Append('\n');
        AppendLine(text, XarHeaderKeys.Offset, offset);
        AppendLine(text, XarHeaderKeys.Uuid, uuid);
        AppendLine(text, XarHeaderKeys.Version, fields.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        AppendLine(text, XarHeaderKeys.Dependencies, string.Join(' ', fields.Dependencies));
        if (fields.MountRoot is not null)
            AppendLine(text, XarHeaderKeys.MountRoot, fields.MountRoot);
        if (fields.XarexecTarget is not null)
            AppendLine(text, XarHeaderKeys.XarexecTarget, fields.XarexecTarget);
        AppendLine(text, XarHeaderKeys.Format, XarHeader.SupportedFormat.ToString(System.Globalization.CultureInfo.InvariantCulture));
        AppendLine(text, XarHeaderKeys.ImageSha256, imageSha256);
        if (fields.Target is not null)
            AppendLine(text, XarHeaderKeys.Target, fields.Target);
        foreach (var (key, value) in fields.Extra)
            AppendLine(text, key, value);
        text.Append("#xar_stop\n");
        text.Append("echo This XAR file should not be executed by sh\n");
        text.Append("exit 1\n");
        text.Append("# Actual squashfs file begins at ").Append(offset).Append('\n');
        return text.ToString();
    }

    private static void AppendLine(StringBuilder text, string key, string value) =>
        text.Append(key).Append("=\"").Append(value).Append("\"\n");
}
