using System.CommandLine;
using System.Globalization;
using Xar.Runtime;

namespace Xar.Cli;

/// <summary>
/// `xar cache list|prune|clear`: the caller's extractions and mount leftovers (Xar.Runtime's
/// <see cref="CacheInventory"/>), in the roots a launch with this environment would use.
/// </summary>
internal static class CacheCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var cache = new Command("cache", "List or remove the caller's extractions and mount directories.");
        cache.Subcommands.Add(List(stdout));
        cache.Subcommands.Add(Prune(stdout, stderr));
        cache.Subcommands.Add(Clear(stdout, stderr));
        return cache;
    }

    private static Option<string[]> CacheRoots() => new("--cache-root")
    {
        Description = "A cache directory to look in instead of those of the environment ($XDG_CACHE_HOME/xar, ~/.cache/xar, …); repeatable.",
    };

    private static Option<string[]> MountRoots() => new("--mount-root")
    {
        Description = "A mount root to look in instead of /mnt/xarfuse and /dev/shm; repeatable.",
    };

    private static CacheInventory Inventory(ParseResult parse, Option<string[]> cacheRoots, Option<string[]> mountRoots)
    {
        string[] caches = parse.GetValue(cacheRoots) ?? [];
        string[] mounts = parse.GetValue(mountRoots) ?? [];
        IEnumerable<string>? mountList = mounts.Length > 0 ? mounts.Select(Path.GetFullPath) : null;
        return caches.Length > 0
            ? new CacheInventory(caches.Select(root => (Path.GetFullPath(root), false)), mountList ?? MountLocation.DefaultRoots)
            : CacheInventory.ForCaller(RuntimeSettings.FromEnvironment("xar"), mountList);
    }

    private static Command List(TextWriter stdout)
    {
        Option<string[]> cacheRoots = CacheRoots(), mountRoots = MountRoots();
        var json = InspectionCommands.JsonOption();
        var command = new Command("list", "Show extractions (archive, size, last use, in use) and mount directories.") { cacheRoots, mountRoots, json };
        command.SetAction(parse =>
        {
            var entries = Inventory(parse, cacheRoots, mountRoots).List();
            if (parse.GetValue(json))
                JsonReports.Write(stdout, JsonReports.CacheList(entries));
            else
                WriteTable(stdout, entries);
            return 0;
        });
        return command;
    }

    private static Command Prune(TextWriter stdout, TextWriter stderr)
    {
        Option<string[]> cacheRoots = CacheRoots(), mountRoots = MountRoots();
        var olderThan = new Option<string>("--older-than") { Description = "Remove extractions not used for DURATION (e.g. 90m, 12h, 7d, 2w)." };
        var maxSize = new Option<string>("--max-size") { Description = "Then remove the least recently used until extractions take at most SIZE (e.g. 500M, 2G)." };
        var command = new Command("prune",
            "Remove leftovers (partial trees, orphaned lock and stamp files, unmounted mount directories), old extractions, and the least recently used beyond a size; never what is in use.")
            { olderThan, maxSize, cacheRoots, mountRoots };
        command.SetAction(parse =>
        {
            TimeSpan? age = parse.GetValue(olderThan) is { } text ? ParseDuration(text) : null;
            long? size = parse.GetValue(maxSize) is { } sizeText ? ParseSize(sizeText) : null;
            return Report(stdout, stderr, Inventory(parse, cacheRoots, mountRoots).Prune(age, size, DateTimeOffset.UtcNow));
        });
        return command;
    }

    private static Command Clear(TextWriter stdout, TextWriter stderr)
    {
        Option<string[]> cacheRoots = CacheRoots(), mountRoots = MountRoots();
        var command = new Command("clear", "Remove every extraction and mount leftover that is not in use.") { cacheRoots, mountRoots };
        command.SetAction(parse => Report(stdout, stderr, Inventory(parse, cacheRoots, mountRoots).Clear()));
        return command;
    }

    /// <summary>One line per entry; entries kept because they are in use or mounted are not failures.</summary>
    private static int Report(TextWriter stdout, TextWriter stderr, IReadOnlyList<CacheRemoval> removals)
    {
        int status = 0;
        foreach (CacheRemoval removal in removals)
        {
            string size = removal.Entry.Size is { } bytes ? $" ({FormatSize(bytes)})" : "";
            if (removal.Removed)
            {
                stdout.WriteLine($"removed {removal.Entry.Path}{size}");
            }
            else if (removal.Reason is "in use" or "mounted")
            {
                stdout.WriteLine($"kept {removal.Entry.Path}: {removal.Reason}");
            }
            else
            {
                stderr.WriteLine($"xar: {removal.Entry.Path}: {removal.Reason}");
                status = XarCommandLine.ExitFailure;
            }
        }
        return status;
    }

    /// <summary>A fixed-width table, one row per entry in the inventory's order (kind, then path).</summary>
    internal static void WriteTable(TextWriter stdout, IReadOnlyList<CacheEntry> entries)
    {
        string[] header = ["KIND", "STATE", "IN USE", "LAST USE (UTC)", "SIZE", "PATH", "ARCHIVE"];
        List<string[]> rows = [header, .. entries.Select(entry => new[]
        {
            entry.Kind == CacheEntryKind.Extraction ? "extraction" : "mount",
            entry.State,
            entry.InUse ? "yes" : "no",
            entry.LastUse?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-",
            entry.Size is { } size ? FormatSize(size) : "-",
            entry.Path,
            entry.Archive ?? "-",
        })];
        int[] widths = [.. Enumerable.Range(0, header.Length).Select(column => rows.Max(row => row[column].Length))];
        foreach (string[] row in rows)
            stdout.WriteLine(string.Join("  ", row.Select((cell, column) => column == row.Length - 1 ? cell : cell.PadRight(widths[column]))).TrimEnd());
    }

    internal static string FormatSize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }

    /// <summary>A whole number with a unit: s, m, h, d or w.</summary>
    /// <exception cref="FormatException">Anything else.</exception>
    internal static TimeSpan ParseDuration(string text)
    {
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long count))
        {
            long? seconds = text[^1] switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, 'w' => 604800, _ => null };
            if (seconds is not null && count <= TimeSpan.MaxValue.TotalSeconds / seconds)
                return TimeSpan.FromSeconds(count * seconds.Value);
        }
        throw new FormatException($"--older-than \"{text}\" is not a duration such as 90m, 12h, 7d or 2w");
    }

    /// <summary>A whole number of bytes, or with K, M, G or T (binary multiples; an optional trailing B or iB).</summary>
    /// <exception cref="FormatException">Anything else, or more than a long holds.</exception>
    internal static long ParseSize(string text)
    {
        string number = text.EndsWith("iB", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('B') ? text[..^1] : text;
        int shift = number.Length > 0 ? char.ToUpperInvariant(number[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 } : 0;
        if (shift > 0)
            number = number[..^1];
        if (long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value <= long.MaxValue >> shift)
            return value << shift;
        throw new FormatException($"--max-size \"{text}\" is not a size such as 500M or 2G");
    }
}
