using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Xar.Fuse.Protocol;

/// <summary>
/// How many requests of each opcode a session answered and the time its threads spent on them
/// (from the end of the read(2) that brought one to the end of the write(2) of its reply): the
/// load-insensitive profile of a workload through the server. Interlocked counters, always on.
/// </summary>
public sealed class FuseRequestStatistics
{
    private const int Slots = 64;
    private readonly long[] _counts = new long[Slots];
    private readonly long[] _ticks = new long[Slots];
    private long _readBytes;

    internal void Record(FuseOpcode opcode, long startTimestamp)
    {
        int slot = (int)Math.Min((uint)opcode, Slots - 1);
        Interlocked.Increment(ref _counts[slot]);
        Interlocked.Add(ref _ticks[slot], Stopwatch.GetTimestamp() - startTimestamp);
    }

    internal void AddReadBytes(int count) => Interlocked.Add(ref _readBytes, count);

    /// <summary>Requests of <paramref name="opcode"/> (the kernel's number) answered so far.</summary>
    public long Count(uint opcode) => opcode < Slots ? Volatile.Read(ref _counts[opcode]) : 0;

    /// <summary>All requests answered so far.</summary>
    public long Total => _counts.Sum(count => Volatile.Read(ref count));

    /// <summary>Bytes of file data returned by READ.</summary>
    public long ReadBytes => Volatile.Read(ref _readBytes);

    /// <summary>One line per opcode seen (name, count, milliseconds), then the totals.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        long count = 0, ticks = 0;
        for (int slot = 0; slot < Slots; slot++)
        {
            long n = Volatile.Read(ref _counts[slot]);
            if (n == 0)
                continue;
            long t = Volatile.Read(ref _ticks[slot]);
            count += n;
            ticks += t;
            string name = Enum.IsDefined((FuseOpcode)slot) ? ((FuseOpcode)slot).ToString().ToUpperInvariant() : slot.ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"{name} {n} {Milliseconds(t):F1} ms\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"total {count} {Milliseconds(ticks):F1} ms, {ReadBytes} bytes read\n");
        return text.ToString();
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
