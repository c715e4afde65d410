using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace Xar.Archive;

/// <summary>
/// A parsed header: every KEY="value" line before <c>#xar_stop</c>, in file order, with typed
/// views of the keys this library knows. Parsing follows the union of the three original readers
/// (docs/xar-format.md §7.5): whatever one of them accepts and a XAR needs, we accept —
/// <list type="bullet">
/// <item>any first line, or none: a <c>#!</c> first line is kept as <see cref="Shebang"/> (runtime, mount_xar.py);</item>
/// <item>blank lines and lines starting with '#' before <c>#xar_stop</c> are skipped (runtime);</item>
/// <item>a line is NAME="VALUE", split at the first '='; the value may contain '"' and '=' (runtime);</item>
/// <item>a key given twice keeps its last value (runtime);</item>
/// <item>OFFSET may stand on any line and be any positive multiple of 4096, with as long a header
/// as it implies (XarParser takes up to 8192; the builder writes more); it must appear within the
/// first 4096 bytes, as it does for every reader (the builder puts it on line 2);</item>
/// <item>VERSION and XAREXEC_TARGET are optional (runtime: <c>-m</c> mounts without a target);</item>
/// <item>a 4096-byte header may lack <c>#xar_stop</c> (runtime: its lines then run to byte 4096).</item>
/// </list>
/// Rejected, because neither the runtime nor XarParser accepts it: a line that is not NAME="VALUE",
/// CRLF line endings, a missing or non-hexadecimal UUID (the runtime's mount identity), and a
/// longer header without <c>#xar_stop</c>. (The deprecated mount_xar.py, broken on Python 3, matched
/// lines with an unanchored regex and skipped the rest; its looseness is not taken.) OFFSET must be
/// plain decimal digits. Also rejected, as ours: text that is not UTF-8 (the builder writes UTF-8),
/// and an XAR_FORMAT newer than <see cref="SupportedFormat"/>.
/// </summary>
public sealed class XarHeader
{
    /// <summary>The XAR_FORMAT this library writes and the newest it reads.</summary>
    public const int SupportedFormat = 1;

    /// <summary>The header size of the original runtime; every header is at least this long.</summary>
    public const int MinimumSize = 4096;

    private readonly KeyValuePair<string, string>[] _entries;

    private XarHeader(KeyValuePair<string, string>[] entries, string? shebang, long imageOffset, int? format)
    {
        _entries = entries;
        Shebang = shebang;
        ImageOffset = imageOffset;
        Format = format;
        Uuid = this[XarHeaderKeys.Uuid]!;
        Version = this[XarHeaderKeys.Version];
        MountRoot = this[XarHeaderKeys.MountRoot];
        XarexecTarget = this[XarHeaderKeys.XarexecTarget];
        Target = this[XarHeaderKeys.Target];
        ImageSha256 = this[XarHeaderKeys.ImageSha256]?.ToLowerInvariant();
        string? dependencies = this[XarHeaderKeys.Dependencies];
        Dependencies = dependencies is null ? [] : dependencies.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The first line if it starts with <c>#!</c>, else null (the runtime ignores it either way).</summary>
    public string? Shebang { get; }

    /// <summary>OFFSET: where the SquashFS image starts, counted from the start of the file in both layouts.</summary>
    public long ImageOffset { get; }

    /// <summary>UUID: hexadecimal, non-empty.</summary>
    public string Uuid { get; }

    /// <summary>VERSION as written (the original runtime ignores it), or null.</summary>
    public string? Version { get; }

    /// <summary>DEPENDENCIES split at spaces; empty when absent or empty.</summary>
    public IReadOnlyList<string> Dependencies { get; }

    public string? MountRoot { get; }

    public string? XarexecTarget { get; }

    /// <summary>XAR_TARGET: what our launcher executes instead of XAREXEC_TARGET (a raw archive's real target behind its wrapper), or null.</summary>
    public string? Target { get; }

    /// <summary>XAR_FORMAT, or null for an archive written by the original builder.</summary>
    public int? Format { get; }

    /// <summary>XAR_IMAGE_SHA256 in lowercase, or null for an archive written by the original builder.</summary>
    public string? ImageSha256 { get; }

    /// <summary>Every KEY="value" line before <c>#xar_stop</c>, in file order, repeated keys included.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Entries => _entries;

    /// <summary>The value of <paramref name="key"/>; the last one when the key is repeated, as in the original runtime.</summary>
    public string? this[string key] => FindLast(_entries, key);

    /// <summary>
    /// Parses a whole header: the bytes from its start up to OFFSET, or at least up to its
    /// <c>#xar_stop</c> line. <paramref name="headerOffset"/> is where those bytes sit in the file
    /// (0 in the xarexec layout); OFFSET must leave at least <see cref="MinimumSize"/> bytes for them.
    /// </summary>
    /// <exception cref="XarFormatException">The header breaks a rule; the message names <paramref name="filePath"/> and the rule.</exception>
    public static XarHeader Parse(ReadOnlySpan<byte> header, string filePath, long headerOffset = 0)
    {
        XarHeader? parsed = TryParse(header, isWholeHeader: true, filePath, headerOffset, out _);
        return parsed!;
    }

    /// <summary>
    /// Parses <paramref name="bytes"/>, the start of a header. When they end before <c>#xar_stop</c>
    /// and <paramref name="isWholeHeader"/> is false, returns null with the image offset, so the
    /// caller can read the whole header (up to that offset) and parse again.
    /// </summary>
    internal static XarHeader? TryParse(ReadOnlySpan<byte> bytes, bool isWholeHeader, string filePath, long headerOffset, out long imageOffset)
    {
        var entries = new List<KeyValuePair<string, string>>(16);
        string? shebang = null;
        bool stopped = false;
        int lineNumber = 0;
        int position = 0;
        while (position < bytes.Length)
        {
            ReadOnlySpan<byte> rest = bytes[position..];
            int newline = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line;
            if (newline >= 0)
            {
                line = rest[..newline];
                position += newline + 1;
            }
            else if (isWholeHeader)
            {
                line = rest;
                position = bytes.Length;
            }
            else
            {
                break; // The line goes on past what was read.
            }
            lineNumber++;
            if (line.SequenceEqual("#xar_stop"u8))
            {
                stopped = true;
                break;
            }
            if (line.IsEmpty)
                continue;
            if (line[0] == (byte)'#')
            {
                if (lineNumber == 1 && line.StartsWith("#!"u8))
                    shebang = DecodeUtf8(line, lineNumber, filePath);
                continue;
            }
            entries.Add(ParseEntry(line, lineNumber, filePath));
        }

        KeyValuePair<string, string>[] entryArray = entries.ToArray();
        string? offsetText = FindLast(entryArray, XarHeaderKeys.Offset);
        if (offsetText is null)
        {
            throw new XarFormatException(filePath, stopped || isWholeHeader
                ? "the header has no OFFSET line"
                : $"no OFFSET line in the first {bytes.Length} bytes of the header");
        }
        imageOffset = ParseOffset(offsetText, filePath);
        long headerLength = imageOffset - headerOffset;
        if (headerLength < MinimumSize)
            throw new XarFormatException(filePath, $"OFFSET {imageOffset} leaves {headerLength} bytes for the header at offset {headerOffset}; it needs at least {MinimumSize}");
        if (!stopped)
        {
            if (!isWholeHeader)
                return null;
            if (headerLength != MinimumSize)
                throw new XarFormatException(filePath, $"no #xar_stop line in the {headerLength}-byte header (only a {MinimumSize}-byte header may omit it, as the original runtime allows)");
        }

        string? uuid = FindLast(entryArray, XarHeaderKeys.Uuid);
        if (uuid is null)
            throw new XarFormatException(filePath, "the header has no UUID line");
        if (uuid.Length == 0 || !uuid.All(char.IsAsciiHexDigit))
            throw new XarFormatException(filePath, $"UUID \"{uuid}\" is not hexadecimal (the original runtime names its mount directory after it)");

        int? format = null;
        string? formatText = FindLast(entryArray, XarHeaderKeys.Format);
        if (formatText is not null)
        {
            if (!int.TryParse(formatText, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
                throw new XarFormatException(filePath, $"XAR_FORMAT \"{formatText}\" is not a positive decimal number");
            if (value > SupportedFormat)
                throw new XarFormatException(filePath, $"XAR_FORMAT {value} is newer than this xar reads ({SupportedFormat}); use a newer xar");
            format = value;
        }

        string? sha256 = FindLast(entryArray, XarHeaderKeys.ImageSha256);
        if (sha256 is not null && (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigit)))
            throw new XarFormatException(filePath, $"XAR_IMAGE_SHA256 \"{sha256}\" is not 64 hex digits");

        return new XarHeader(entryArray, shebang, imageOffset, format);
    }

    private static string? FindLast(KeyValuePair<string, string>[] entries, string key)
    {
        for (int i = entries.Length - 1; i >= 0; i--)
        {
            if (string.Equals(entries[i].Key, key, StringComparison.Ordinal))
                return entries[i].Value;
        }
        return null;
    }

    private static long ParseOffset(string text, string filePath)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
            throw new XarFormatException(filePath, $"OFFSET \"{text}\" is not a decimal number of bytes");
        if (offset <= 0 || offset % MinimumSize != 0)
            throw new XarFormatException(filePath, $"OFFSET {offset} is not a positive multiple of {MinimumSize}");
        return offset;
    }

    private static KeyValuePair<string, string> ParseEntry(ReadOnlySpan<byte> line, int lineNumber, string filePath)
    {
        int equals = line.IndexOf((byte)'=');
        if (equals < 0)
            throw new XarFormatException(filePath, $"header line {lineNumber} is not NAME=\"VALUE\" (no '='): {Excerpt(line)}");
        if (equals == 0)
            throw new XarFormatException(filePath, $"header line {lineNumber} has an empty name: {Excerpt(line)}");
        ReadOnlySpan<byte> quoted = line[(equals + 1)..];
        if (!quoted.IsEmpty && quoted[^1] == (byte)'\r')
            throw new XarFormatException(filePath, $"header line {lineNumber} ends with a carriage return; XAR headers use \\n line endings, not \\r\\n");
        if (quoted.Length < 2 || quoted[0] != (byte)'"' || quoted[^1] != (byte)'"')
            throw new XarFormatException(filePath, $"header line {lineNumber}: the value is not enclosed in double quotes: {Excerpt(line)}");
        string key = KnownKey(line[..equals]) ?? DecodeUtf8(line[..equals], lineNumber, filePath);
        string value = DecodeUtf8(quoted[1..^1], lineNumber, filePath);
        return new KeyValuePair<string, string>(key, value);
    }

    /// <summary>The launcher parses the header on every start; known keys reuse their constant strings.</summary>
    private static string? KnownKey(ReadOnlySpan<byte> name)
    {
        if (name.SequenceEqual("OFFSET"u8)) return XarHeaderKeys.Offset;
        if (name.SequenceEqual("UUID"u8)) return XarHeaderKeys.Uuid;
        if (name.SequenceEqual("VERSION"u8)) return XarHeaderKeys.Version;
        if (name.SequenceEqual("DEPENDENCIES"u8)) return XarHeaderKeys.Dependencies;
        if (name.SequenceEqual("MOUNT_ROOT"u8)) return XarHeaderKeys.MountRoot;
        if (name.SequenceEqual("XAREXEC_TARGET"u8)) return XarHeaderKeys.XarexecTarget;
        if (name.SequenceEqual("XAR_TARGET"u8)) return XarHeaderKeys.Target;
        if (name.SequenceEqual("XAR_FORMAT"u8)) return XarHeaderKeys.Format;
        if (name.SequenceEqual("XAR_IMAGE_SHA256"u8)) return XarHeaderKeys.ImageSha256;
        return null;
    }

    private static string DecodeUtf8(ReadOnlySpan<byte> bytes, int lineNumber, string filePath)
    {
        if (!Utf8.IsValid(bytes))
            throw new XarFormatException(filePath, $"header line {lineNumber} is not valid UTF-8");
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>The start of a bad line, printable on one line of an error message.</summary>
    private static string Excerpt(ReadOnlySpan<byte> line)
    {
        const int MaxBytes = 80;
        string text = Encoding.UTF8.GetString(line.Length > MaxBytes ? line[..MaxBytes] : line);
        var excerpt = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            if (char.IsControl(c))
                excerpt.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else
                excerpt.Append(c);
        }
        if (line.Length > MaxBytes)
            excerpt.Append('…');
        return excerpt.ToString();
    }
}
