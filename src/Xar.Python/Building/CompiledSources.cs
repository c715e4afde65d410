using System.Collections.Concurrent;

namespace Xar.Python.Building;

/// <summary>
/// Pycs made before the bytecode phase: the import scan compiles each source it scans
/// (import_scanner.py --compile), which is the code the compile server would make of it, so
/// the build compiles each of those sources once. Kept by image path with the source they were
/// compiled from; the compiler takes one only for exactly that source and the same interpreter
/// with the same column positions setting.
/// </summary>
public sealed class CompiledSources(string interpreter, bool debugRanges = true)
{
    private readonly ConcurrentDictionary<string, (byte[] Source, byte[] Pyc)> _pycs = new(StringComparer.Ordinal);

    /// <summary>The interpreter that compiled them.</summary>
    public string Interpreter { get; } = interpreter;

    /// <summary>Whether the code has column positions (off: <c>-X no_debug_ranges</c>).</summary>
    public bool DebugRanges { get; } = debugRanges;

    internal void Add(string path, ReadOnlySpan<byte> source, byte[] pyc) => _pycs[path] = (source.ToArray(), pyc);

    /// <summary>The pyc of <paramref name="path"/> compiled from <paramref name="source"/> (then forgotten), or null.</summary>
    internal byte[]? Take(string path, ReadOnlySpan<byte> source) =>
        _pycs.TryGetValue(path, out var compiled) && source.SequenceEqual(compiled.Source) && _pycs.TryRemove(path, out _) ? compiled.Pyc : null;
}
