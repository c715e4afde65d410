using System.Text;
using System.Text.RegularExpressions;

namespace Xar.Python.Distributions;

/// <summary>
/// Shebangs of scripts that go into <c>bin/</c>. A wheel marks a Python script with
/// <c>#!python</c> (PEP 427) for the installer to fill in; an installed script names the build
/// machine's interpreter. Neither is right on the target host, so both become
/// <see cref="Portable"/>; the archive itself runs scripts with its own interpreter either way.
/// </summary>
internal static partial class ScriptShebang
{
    public const string Portable = "#!/usr/bin/env python3";

    private static readonly byte[] WheelMarker = "#!python"u8.ToArray();

    // An interpreter named python, python3, python3.11, pythonw, pypy3… directly or through env,
    // with optional arguments.
    [GeneratedRegex(@"^#!\s*(?:\S*/)?(?:env\s+(?:-\S+\s+)*)?(?:python|pypy)[0-9.]*w?(?:\s.*)?$")]
    private static partial Regex PythonShebang();

    /// <summary>The number of leading bytes <see cref="IsWheelMarker"/> needs.</summary>
    public static int WheelMarkerLength => WheelMarker.Length;

    /// <summary>Whether a wheel script's first bytes are the <c>#!python</c> placeholder (also <c>#!pythonw</c>).</summary>
    public static bool IsWheelMarker(ReadOnlySpan<byte> start) => start.StartsWith(WheelMarker);

    /// <summary>The script with its first line replaced by <see cref="Portable"/>.</summary>
    public static byte[] ReplaceFirstLine(ReadOnlySpan<byte> script)
    {
        int newline = script.IndexOf((byte)'\n');
        var rest = newline < 0 ? [] : script[(newline + 1)..];
        return [.. Encoding.ASCII.GetBytes(Portable + "\n"), .. rest];
    }

    /// <summary>
    /// An installed script with a Python shebang made portable: <c>#!/abs/venv/bin/python3.11</c>,
    /// or pip's <c>#!/bin/sh</c> + <c>'''exec' "/long path/python" "$0" "$@"</c> form for
    /// interpreter paths a kernel cannot take. Null when the script is not a Python script.
    /// </summary>
    public static byte[]? MakePortable(ReadOnlySpan<byte> script)
    {
        var lines = FirstLines(script, 3);
        if (lines.Count >= 3 && lines[0].Text.TrimEnd() == "#!/bin/sh"
            && lines[1].Text.StartsWith("'''exec' ", StringComparison.Ordinal)
            && lines[2].Text.TrimEnd() == "' '''")
            return [.. Encoding.ASCII.GetBytes(Portable + "\n"), .. script[lines[2].End..]];
        if (lines.Count >= 1 && PythonShebang().IsMatch(lines[0].Text.TrimEnd('\r')))
            return lines[0].Text.TrimEnd('\r') == Portable ? null : ReplaceFirstLine(script);
        return null;
    }

    private static List<(string Text, int End)> FirstLines(ReadOnlySpan<byte> script, int count)
    {
        var lines = new List<(string, int)>();
        int start = 0;
        while (lines.Count < count && start < script.Length)
        {
            int newline = script[start..].IndexOf((byte)'\n');
            int end = newline < 0 ? script.Length : start + newline + 1;
            // Shebang lines are ASCII in practice; Latin-1 keeps any byte as one character.
            lines.Add((Encoding.Latin1.GetString(script[start..(newline < 0 ? script.Length : start + newline)]), end));
            start = end;
        }
        return lines;
    }
}
