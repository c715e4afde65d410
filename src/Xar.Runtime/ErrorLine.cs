using System.Text;

namespace Xar.Runtime;

/// <summary>
/// The one-line error messages of <c>xarexec</c> and <c>xar</c>: a path in them can be as long
/// as the caller made it (tens of kilobytes for a deep tree), which buries the cause and floods
/// logs. Any word longer than <see cref="MaxWordLength"/> — in practice a path — keeps its head
/// and its tail (the root and the file's name) with "…" between.
/// </summary>
public static class ErrorLine
{
    public const int MaxWordLength = 200;

    /// <summary><paramref name="message"/> with every space-separated word longer than <see cref="MaxWordLength"/> shortened in the middle.</summary>
    public static string Shorten(string message)
    {
        if (message.Length <= MaxWordLength)
            return message;
        var line = new StringBuilder(message.Length);
        int start = 0;
        while (start <= message.Length)
        {
            int end = message.IndexOf(' ', start);
            if (end < 0)
                end = message.Length;
            ReadOnlySpan<char> word = message.AsSpan(start, end - start);
            if (word.Length > MaxWordLength)
            {
                int head = (MaxWordLength - 1) / 2;
                int tail = MaxWordLength - 1 - head;
                // Never cut a surrogate pair in two.
                if (char.IsHighSurrogate(word[head - 1]))
                    head--;
                if (char.IsLowSurrogate(word[^tail]))
                    tail--;
                line.Append(word[..head]).Append('…').Append(word[^tail..]);
            }
            else
            {
                line.Append(word);
            }
            if (end < message.Length)
                line.Append(' ');
            start = end + 1;
        }
        return line.ToString();
    }
}
