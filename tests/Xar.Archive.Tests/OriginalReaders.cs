using System.Text;
using System.Text.RegularExpressions;

namespace Xar.Archive.Tests;

/// <summary>
/// Test oracles: the three original header readers restated from their description in
/// docs/xar-format.md §7 (runtime §7.1 and step 4 of §9.2, XarParser §7.2, mount_xar.py §7.3). Each
/// returns the keys it would use or throws <see cref="InvalidDataException"/> with the original's
/// complaint.
/// </summary>
public static class OriginalReaders
{
    private const string Shebang = "#!/usr/bin/env xarexec_fuse";

    /// <summary><c>xarexec_fuse</c>: one read of 4096 bytes, lenient lines, OFFSET exactly "4096".</summary>
    public static Dictionary<string, string> Runtime(byte[] file)
    {
        if (file.Length < 4096)
            throw new InvalidDataException("Short read of header");
        var keys = new Dictionary<string, string>();
        foreach (string line in Encoding.UTF8.GetString(file, 0, 4096).Split('\n'))
        {
            if (line == "#xar_stop")
                break;
            if (line.Length == 0 || line[0] == '#')
                continue;
            int equals = line.IndexOf('=');
            if (equals < 0)
                throw new InvalidDataException($"malformed header line: {line}");
            string name = line[..equals], value = line[(equals + 1)..];
            if (name.Length == 0 || value.Length < 2 || value[0] != '"' || value[^1] != '"')
                throw new InvalidDataException($"invalid line in xar header: {line}");
            keys[name] = value[1..^1];
        }
        if (!keys.TryGetValue("OFFSET", out string? offset) || offset != "4096")
            throw new InvalidDataException("TODO(chip): support headers other than he default");
        if (!keys.TryGetValue("UUID", out string? uuid))
            throw new InvalidDataException("No UUID in XAR header");
        if (!keys.ContainsKey("XAREXEC_TARGET"))
            throw new InvalidDataException("No XAREXEC_TARGET in XAR header");
        if (uuid.Length == 0 || !uuid.All(char.IsAsciiHexDigit))
            throw new InvalidDataException("uuid must only contain hex digits");
        return keys;
    }

    /// <summary>XarParser, "the XAR contract": strict lines, shebang, OFFSET on line 2, <c>#xar_stop</c>, magic.</summary>
    public static Dictionary<string, string> XarParser(byte[] file)
    {
        byte[] buffer = file[..Math.Min(file.Length, 8192 + 4)];
        string[] lines = Encoding.UTF8.GetString(buffer).Split('\n');
        if (!lines[0].StartsWith(Shebang, StringComparison.Ordinal))
            throw new InvalidDataException($"Invalid shebang: {lines[0]}");
        var keys = new Dictionary<string, string>();
        ParseLine(lines[1], keys);
        if (!keys.TryGetValue("OFFSET", out string? offsetText))
            throw new InvalidDataException("Missing required parameters: ExpectedOFFSET to be on first line");
        ulong offset = ulong.Parse(offsetText);
        if (offset > 8192)
            throw new InvalidDataException($"Invalid offset: {offset} is greater than max header size of 8192");
        int index = 2;
        for (; index < lines.Length && lines[index] != "#xar_stop"; index++)
            ParseLine(lines[index], keys);
        if (index == lines.Length)
            throw new InvalidDataException("Unexpected end of file reached: Failed to find #xar_stop");
        string[] missing = new[] { "OFFSET", "VERSION", "UUID", "XAREXEC_TARGET" }.Where(key => !keys.ContainsKey(key)).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"Missing required parameters: {string.Join(", ", missing)}");
        if (!buffer.AsSpan((int)offset).StartsWith("hsqs"u8))
            throw new InvalidDataException("Incorrect squashfs magic");
        return keys;
    }

    private static void ParseLine(string line, Dictionary<string, string> keys)
    {
        int equals = line.IndexOf('=');
        if (equals < 0)
            throw new InvalidDataException($"Failed to parse line: {line}");
        string name = line[..equals], quoted = line[(equals + 1)..];
        if (name.Length == 0 || quoted.Length < 2 || quoted[0] != '"' || quoted[^1] != '"')
            throw new InvalidDataException($"Failed to parse line: {line}");
        string value = quoted[1..^1];
        if (value.Contains('"'))
            throw new InvalidDataException($"Failed to parse line: {line}");
        if (!keys.TryAdd(name, value))
            throw new InvalidDataException($"Variable is assigned more than once: {name}");
        if (name == "OFFSET" && (!ulong.TryParse(value, out ulong offset) || offset == 0 || offset % 4096 != 0))
            throw new InvalidDataException($"Invalid offset: {value}");
        if (name == "XAREXEC_TRAMPOLINE_NAMES")
        {
            if (value.Length <= 2 || value[0] != '\'' || value[^1] != '\'')
                throw new InvalidDataException("Error parsing trampoline names");
            string[] names = value[1..^1].Split("' '");
            if (names.Any(n => n.Contains('\'') || n.Contains('"')) || !names.Contains("invoke_xar_via_trampoline"))
                throw new InvalidDataException("Error parsing trampoline names");
        }
    }

    /// <summary><c>deprecated/mount_xar.py</c>: a regex over the lines of the first 4096 bytes.</summary>
    public static Dictionary<string, string> MountXar(byte[] file)
    {
        var attribute = new Regex("^([a-zA-Z_]+)=\"(.*)\"");
        var keys = new Dictionary<string, string>();
        foreach (string line in Encoding.UTF8.GetString(file, 0, Math.Min(file.Length, 4096)).Split('\n'))
        {
            if (line == "#xar_stop")
                break;
            if (line[0] == '#') // An empty line raises IndexError in the original.
                continue;
            Match match = attribute.Match(line);
            if (match.Success)
                keys[match.Groups[1].Value] = match.Groups[2].Value;
        }
        foreach (string required in new[] { "VERSION", "UUID", "OFFSET" })
        {
            if (!keys.ContainsKey(required))
                throw new InvalidDataException($"Attribute {required} missing");
        }
        _ = long.Parse(keys["VERSION"]);
        return keys;
    }
}
