using System.Security.Cryptography;
using System.Text;

namespace Xar.Python.Distributions;

/// <summary>A RECORD hash: <c>sha256=&lt;urlsafe base64 without padding&gt;</c>.</summary>
public sealed record RecordHash(string Algorithm, string Value)
{
    /// <summary>The algorithms a wheel's RECORD may use; PEP 427 forbids md5 and sha1.</summary>
    public static IReadOnlyList<string> AcceptedAlgorithms { get; } = ["sha256", "sha384", "sha512"];

    public bool IsAccepted => AcceptedAlgorithms.Contains(Algorithm);

    public override string ToString() => $"{Algorithm}={Value}";

    /// <summary>Parses <c>algorithm=value</c>; null for an empty field or one without '='.</summary>
    public static RecordHash? Parse(string field)
    {
        int equals = field.IndexOf('=');
        return equals <= 0 ? null : new RecordHash(field[..equals], field[(equals + 1)..]);
    }

    /// <summary>The hash of <paramref name="data"/> in RECORD's encoding.</summary>
    public static RecordHash Sha256(ReadOnlySpan<byte> data) => new("sha256", Encode(SHA256.HashData(data)));

    internal static string Encode(ReadOnlySpan<byte> digest) =>
        Convert.ToBase64String(digest).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal IncrementalHash CreateHasher() => Algorithm switch
    {
        "sha256" => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        "sha384" => IncrementalHash.CreateHash(HashAlgorithmName.SHA384),
        "sha512" => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new NotSupportedException($"RECORD hash algorithm '{Algorithm}' is not supported"),
    };
}

/// <summary>One row of RECORD: a path relative to the site-packages directory, its hash and size when known.</summary>
public sealed record RecordEntry(string Path, RecordHash? Hash, long? Size);

/// <summary>
/// The RECORD file of a wheel or an installed .dist-info (PEP 376, PEP 427): CSV rows of
/// path, hash, size, as Python's <c>csv</c> module reads and writes them.
/// </summary>
public static class RecordFile
{
    /// <summary>Parses RECORD text; throws <see cref="FormatException"/> naming the line of a malformed row.</summary>
    public static IReadOnlyList<RecordEntry> Parse(string text)
    {
        var entries = new List<RecordEntry>();
        int lineNumber = 0;
        foreach (var row in ReadRows(text))
        {
            lineNumber++;
            if (row.Count == 0 || row.Count == 1 && row[0].Length == 0) continue;
            if (row.Count > 3 || row[0].Length == 0)
                throw new FormatException($"RECORD row {lineNumber} is not 'path,hash,size': {string.Join(",", row)}");
            string hashField = row.Count > 1 ? row[1] : "";
            string sizeField = row.Count > 2 ? row[2] : "";
            RecordHash? hash = null;
            if (hashField.Length > 0)
                hash = RecordHash.Parse(hashField) ?? throw new FormatException($"RECORD row {lineNumber}: hash '{hashField}' is not 'algorithm=value'");
            long? size = null;
            if (sizeField.Length > 0)
            {
                if (!long.TryParse(sizeField, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long parsed))
                    throw new FormatException($"RECORD row {lineNumber}: size '{sizeField}' is not a number");
                size = parsed;
            }
            entries.Add(new RecordEntry(row[0], hash, size));
        }
        return entries;
    }

    /// <summary>Writes rows as installers do: minimal quoting, '\n' line ends.</summary>
    public static string Format(IEnumerable<RecordEntry> entries)
    {
        var text = new StringBuilder();
        foreach (var entry in entries)
        {
            text.Append(Quote(entry.Path)).Append(',')
                .Append(entry.Hash is null ? "" : Quote(entry.Hash.ToString())).Append(',')
                .Append(entry.Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "")
                .Append('\n');
        }
        return text.ToString();
    }

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";

    // Python's csv reader (excel dialect): fields separated by ',', a field that starts with '"'
    // runs to the closing quote with '""' for a quote, and may span lines.
    private static IEnumerable<List<string>> ReadRows(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            var row = new List<string>();
            var field = new StringBuilder();
            bool quoted = false, wasQuoted = false;
            for (; i < text.Length; i++)
            {
                char c = text[i];
                if (quoted)
                {
                    if (c != '"') field.Append(c);
                    else if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else quoted = false;
                }
                else if (c == '"' && field.Length == 0 && !wasQuoted) { quoted = wasQuoted = true; }
                else if (c == ',') { row.Add(field.ToString()); field.Clear(); wasQuoted = false; }
                else if (c is '\n' or '\r')
                {
                    if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                    i++;
                    break;
                }
                else field.Append(c);
            }
            if (quoted) throw new FormatException("RECORD ends inside a quoted field");
            row.Add(field.ToString());
            yield return row;
        }
    }
}
