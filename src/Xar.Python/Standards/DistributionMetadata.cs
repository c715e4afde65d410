using System.Text;

namespace Xar.Python.Standards;

/// <summary>
/// Core metadata as stored in METADATA (wheels, .dist-info) or PKG-INFO (sdists, .egg-info): RFC 822
/// style headers, then an optional body that holds the long description. Header names are
/// case-insensitive and may repeat (<c>Requires-Dist</c>, <c>Provides-Extra</c>, <c>Classifier</c>);
/// a line starting with a space or tab continues the previous header. Read as Python's
/// <c>email</c> parser (compat32) reads it, which is what pip and importlib.metadata use.
/// </summary>
public sealed class DistributionMetadata
{
    private readonly List<(string Name, string RawValue)> _headers;

    private DistributionMetadata(List<(string Name, string RawValue)> headers, string body)
    {
        _headers = headers;
        Body = body;
    }

    /// <summary>Every header in file order, values unfolded (see <see cref="GetAll"/>).</summary>
    public IEnumerable<KeyValuePair<string, string>> Headers => _headers.Select(h => KeyValuePair.Create(h.Name, Unfold(h.RawValue)));

    /// <summary>The text after the blank line that ends the headers (the long description in metadata 2.1+).</summary>
    public string Body { get; }

    public string? MetadataVersion => Get("Metadata-Version");

    /// <summary>The project name as written; normalize it with <see cref="DistributionName.Normalize"/> to compare.</summary>
    public string? Name => Get("Name");

    /// <summary>The Version header as written (it may be a legacy, non-PEP 440 version in old PKG-INFO).</summary>
    public string? VersionText => Get("Version");

    /// <summary>The Version header parsed; throws <see cref="InvalidVersionException"/> for a non-PEP 440 one.</summary>
    public PythonVersion? Version => VersionText is { } text ? PythonVersion.Parse(text) : null;

    public string? Summary => Get("Summary");

    /// <summary>The raw <c>Requires-Dist</c> values, in order.</summary>
    public IReadOnlyList<string> RequiresDist => GetAll("Requires-Dist");

    /// <summary><see cref="RequiresDist"/> parsed; throws <see cref="InvalidRequirementException"/> for an invalid one.</summary>
    public IReadOnlyList<Requirement> Requirements => RequiresDist.Select(Requirement.Parse).ToArray();

    /// <summary>The <c>Provides-Extra</c> values as written.</summary>
    public IReadOnlyList<string> ProvidesExtra => GetAll("Provides-Extra");

    /// <summary>The Requires-Python header parsed, or null when absent.</summary>
    public SpecifierSet? RequiresPython => Get("Requires-Python") is { } text ? SpecifierSet.Parse(text) : null;

    /// <summary>
    /// The long description: the body when there is one, else the legacy Description header with
    /// its continuation-line indentation removed (as setuptools writes and reads it).
    /// </summary>
    public string? Description
    {
        get
        {
            if (Body.Length > 0) return Body;
            var raw = _headers.FirstOrDefault(h => IsNamed(h.Name, "Description")).RawValue;
            return raw is null ? null : UnescapeDescription(raw);
        }
    }

    /// <summary>Parses metadata bytes, which the specification says are UTF-8.</summary>
    public static DistributionMetadata Parse(ReadOnlySpan<byte> utf8) => Parse(Encoding.UTF8.GetString(utf8));

    /// <summary>Parses metadata text. Every line is taken; nothing is rejected, as in Python's parser.</summary>
    public static DistributionMetadata Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var headers = new List<(string Name, string RawValue)>();
        var lines = SplitLines(text);
        int index = 0;
        for (; index < lines.Count; index++)
        {
            string line = lines[index];
            if (line.Length == 0) { index++; break; }
            if (line[0] is ' ' or '\t')
            {
                // A continuation line; one before any header is itself a malformed header, and
                // Python drops it.
                if (headers.Count > 0) headers[^1] = (headers[^1].Name, headers[^1].RawValue + "\n" + line);
                continue;
            }
            int colon = line.IndexOf(':');
            if (colon <= 0 || !IsHeaderName(line.AsSpan(0, colon)))
                break; // Not a header: the body starts here (Python's missing-separator rule).
            headers.Add((line[..colon], line[(colon + 1)..].TrimStart(' ', '\t')));
        }
        string body = string.Join('\n', lines.Skip(index));
        if (index < lines.Count && text.EndsWith('\n')) body += "\n";
        return new DistributionMetadata(headers, body);
    }

    /// <summary>The first value of a header (case-insensitive name), unfolded, or null.</summary>
    public string? Get(string name)
    {
        foreach (var (headerName, rawValue) in _headers)
            if (IsNamed(headerName, name)) return Unfold(rawValue);
        return null;
    }

    /// <summary>
    /// Every value of a header, in order. Folded values are unfolded as RFC 5322 says (the line
    /// breaks go, the continuation's whitespace stays), so a folded Requires-Dist still parses.
    /// </summary>
    public IReadOnlyList<string> GetAll(string name) =>
        _headers.Where(h => IsNamed(h.Name, name)).Select(h => Unfold(h.RawValue)).ToArray();

    private static bool IsNamed(string headerName, string name) => string.Equals(headerName, name, StringComparison.OrdinalIgnoreCase);

    // Python's feedparser: a header name is printable ASCII other than ':' and space.
    private static bool IsHeaderName(ReadOnlySpan<char> name)
    {
        foreach (char c in name)
            if (c is < '!' or > '~') return false;
        return true;
    }

    private static string Unfold(string rawValue) => rawValue.Replace("\n", "", StringComparison.Ordinal);

    // setuptools' rfc822_unescape: the first line stripped on the left, the rest dedented.
    private static string UnescapeDescription(string rawValue)
    {
        string[] lines = rawValue.Split('\n');
        if (lines.Length == 1) return lines[0].TrimStart();
        var rest = lines.Skip(1).ToArray();
        int indent = rest.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart(' ', '\t').Length).DefaultIfEmpty(0).Min();
        return lines[0].TrimStart() + "\n" + string.Join('\n', rest.Select(l => l.Trim().Length == 0 ? "" : l[indent..]));
    }

    // Lines without their terminators; \r\n, \n and \r all end a line, as in Python's parser.
    private static List<string> SplitLines(string text)
    {
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is not ('\n' or '\r')) continue;
            lines.Add(text[start..i]);
            if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
            start = i + 1;
        }
        if (start < text.Length) lines.Add(text[start..]);
        return lines;
    }
}
