namespace Xar.Python.Standards;

/// <summary>
/// Python's string semantics where the standards inherit them from packaging's reference code:
/// what <c>str.isspace()</c> and the regex class <c>\s</c> call whitespace, ASCII-only case folding
/// for the pattern letters, and <c>str</c> ordering by code point.
/// </summary>
internal static class PythonText
{
    /// <summary>Python's <c>\s</c> in a str pattern, as a .NET character class.</summary>
    public const string WhitespaceClass = @"\t-\r\x1C-\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

    /// <summary>Python's <c>\s*</c>.</summary>
    public const string OptionalWhitespace = "[" + WhitespaceClass + "]*";

    public static bool IsWhitespace(char c) => c switch
    {
        >= '\t' and <= '\r' => true,
        >= '\x1C' and <= ' ' => true,
        '\x85' or '\xA0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        >= '\u2000' and <= '\u200A' => true,
        _ => false,
    };

    /// <summary><c>str.strip()</c> with no argument.</summary>
    public static string Strip(string text)
    {
        int start = 0, end = text.Length;
        while (start < end && IsWhitespace(text[start])) start++;
        while (end > start && IsWhitespace(text[end - 1])) end--;
        return text[start..end];
    }

    /// <summary>
    /// Lowercases ASCII letters only and keeps every other character, so the result has the same
    /// length and match positions map back to the original. The standards spell their keywords in
    /// ASCII; Python's Unicode case-insensitive matching also lets a few look-alikes through (the
    /// long s in "poſt", the Kelvin sign in a local label), which we deliberately do not accept.
    /// </summary>
    public static string FoldAscii(string text)
    {
        int first = text.AsSpan().IndexOfAnyInRange('A', 'Z');
        if (first < 0) return text;
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                span[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
            }
        });
    }

    /// <summary>Python's <c>str</c> comparison: by Unicode code point, not by UTF-16 unit.</summary>
    public static int CompareCodePoints(string left, string right)
    {
        var l = left.EnumerateRunes();
        var r = right.EnumerateRunes();
        while (true)
        {
            bool hasLeft = l.MoveNext(), hasRight = r.MoveNext();
            if (!hasLeft || !hasRight) return hasLeft.CompareTo(hasRight);
            int byValue = l.Current.Value.CompareTo(r.Current.Value);
            if (byValue != 0) return byValue;
        }
    }

    /// <summary>Python's <c>str.isdigit()</c> restricted to the ASCII digits the patterns allow.</summary>
    public static bool IsAsciiDigits(string text) => text.Length > 0 && !text.AsSpan().ContainsAnyExceptInRange('0', '9');
}
