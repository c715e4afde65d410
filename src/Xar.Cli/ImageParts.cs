using Xar.SquashFs.Reading;

namespace Xar.Cli;

/// <summary>One part of an image in `xar info`: its files, their bytes, and what they take in the image.</summary>
/// <param name="Name">What the part is (<see cref="ImageParts"/> names them).</param>
/// <param name="Files">Regular files in it (hard links and deduplicated copies each count).</param>
/// <param name="Size">Their bytes, uncompressed.</param>
/// <param name="StoredSize">What they take in the image's data: their data blocks (each deduplicated block list once) and their share of the fragment blocks holding their tails.</param>
internal sealed record ImagePart(string Name, long Files, long Size, long StoredSize);

/// <summary>
/// Splits an image's files into parts by their paths (docs/python-apps.md §1 for a Python
/// image): the bytecode, the interpreter and its standard library, the native libraries, the
/// application's code, its extension modules, and the rest (data). A fragment block's stored
/// size is shared among the tails in it in proportion to their lengths.
/// </summary>
internal static class ImageParts
{
    public const string Bytecode = "bytecode";
    public const string Interpreter = "interpreter and standard library";
    public const string NativeLibraries = "native libraries";
    public const string Code = "application code";
    public const string ExtensionModules = "extension modules";
    public const string Launch = "bootstrap";
    public const string Data = "data";

    private static readonly string[] Order = [Code, Bytecode, ExtensionModules, Data, Interpreter, NativeLibraries, Launch];

    /// <summary>The part of a file at <paramref name="path"/> (image path without the leading slash).</summary>
    public static string Of(string path)
    {
        string name = path[(path.LastIndexOf('/') + 1)..];
        if (path == "__xar__/bytecode.bundle" || name.EndsWith(".pyc", StringComparison.Ordinal)) return Bytecode;
        if (path.StartsWith("__xar__/python/", StringComparison.Ordinal)) return Interpreter;
        if (path.StartsWith("__xar__/lib/", StringComparison.Ordinal)) return NativeLibraries;
        if (path.StartsWith("__xar__/", StringComparison.Ordinal)) return Launch;
        if (name.EndsWith(".py", StringComparison.Ordinal)) return Code;
        if (name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal)) return ExtensionModules;
        return Data;
    }

    /// <summary>The parts that have files, in a fixed order.</summary>
    public static List<ImagePart> Measure(SquashFsImage image)
    {
        var files = new Dictionary<string, (long Files, long Size, long Blocks)>(StringComparer.Ordinal);
        var tails = new List<(string Part, uint Fragment, long Length)>();
        var fragmentTails = new Dictionary<uint, long>();
        var seenBlocks = new HashSet<long>();
        var seenTails = new HashSet<(uint, int)>();
        foreach (var entry in image.EnumerateTree(image.Root))
        {
            if (!entry.IsRegularFile) continue;
            string part = Of(entry.Path.TrimStart('/'));
            var (start, blockBytes, fragment, offset, tail) = image.StoredLayout(entry);
            files.TryGetValue(part, out var sum);
            // Deduplicated files and hard links share their blocks: stored once.
            long stored = blockBytes > 0 && !seenBlocks.Add(start) ? 0 : blockBytes;
            files[part] = (sum.Files + 1, checked(sum.Size + entry.Size), checked(sum.Blocks + stored));
            if (fragment is { } index && seenTails.Add((index, offset)))
            {
                tails.Add((part, index, tail));
                fragmentTails[index] = fragmentTails.GetValueOrDefault(index) + tail;
            }
        }
        var shares = new Dictionary<string, double>(StringComparer.Ordinal);
        var storedLengths = new Dictionary<uint, int>();
        foreach (var (part, index, length) in tails)
        {
            if (!storedLengths.TryGetValue(index, out int stored))
                storedLengths[index] = stored = image.FragmentStoredLength(index);
            long all = fragmentTails[index];
            shares[part] = shares.GetValueOrDefault(part) + (all == 0 ? 0 : (double)stored * length / all);
        }
        return Order.Where(files.ContainsKey)
            .Select(p => new ImagePart(p, files[p].Files, files[p].Size, files[p].Blocks + (long)Math.Round(shares.GetValueOrDefault(p))))
            .ToList();
    }
}
