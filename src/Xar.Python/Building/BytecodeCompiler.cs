using System.Text;

namespace Xar.Python.Building;

/// <summary>
/// Compiles Python sources to unchecked-hash pycs (PEP 552) with the target interpreter itself,
/// so the bytecode matches the interpreter that will run it and nothing is recompiled at run
/// time. One long-lived compile server per core (Bootstrap/compile_server.py, through
/// <see cref="PythonServers"/>); sources are streamed to it, no staging directory.
/// </summary>
public sealed class BytecodeCompiler : IDisposable
{
    private static readonly string CompileServerSource = PythonResources.Read("compile_server.py");

    private readonly PythonServers _servers;
    private readonly CompiledSources? _precompiled;

    /// <param name="precompiled">Pycs the import scan already made (<see cref="CompiledSources"/>); those of another interpreter or setting are not taken.</param>
    /// <param name="debugRanges">Keep the code's column positions (off: <c>-X no_debug_ranges</c>).</param>
    /// <param name="cache">Answers kept from earlier builds (<see cref="ServerAnswerCache"/>); null: every source is compiled.</param>
    public BytecodeCompiler(string interpreter, int servers = 0, CompiledSources? precompiled = null, bool debugRanges = true, ServerAnswerCache? cache = null)
    {
        _precompiled = precompiled?.Interpreter == interpreter && precompiled.DebugRanges == debugRanges ? precompiled : null;
        _servers = new PythonServers(interpreter, CompileServerSource, [], servers, "compile bytecode",
            "cannot compile bytecode (needs Python 3.7 or newer for hash-based pycs)", debugRanges, cache);
        CacheTag = _servers.Greeting;
    }

    /// <summary>How many sources can compile at once.</summary>
    public int ServerCount => _servers.Count;

    /// <summary>The interpreter's cache tag (e.g. "cpython-311"), which names pyc files.</summary>
    public string CacheTag { get; }

    /// <summary>Where the pyc of <paramref name="sourcePath"/> goes: <c>dir/__pycache__/name.TAG.pyc</c>.</summary>
    public string PycPath(string sourcePath)
    {
        int slash = sourcePath.LastIndexOf('/');
        string directory = slash < 0 ? "" : sourcePath[..(slash + 1)];
        string stem = Path.GetFileNameWithoutExtension(sourcePath[(slash + 1)..]);
        return $"{directory}__pycache__/{stem}.{CacheTag}.pyc";
    }

    /// <summary>
    /// Compiles one source. Returns the pyc, or null with <paramref name="error"/> set when the
    /// source does not compile for this interpreter (pip skips such files too: test fixtures,
    /// templates, code for another Python version). Thread-safe.
    /// </summary>
    public byte[]? Compile(string displayPath, ReadOnlySpan<byte> source, out string? error)
    {
        if (_precompiled?.Take(displayPath, source) is { } pyc)
        {
            error = null;
            return pyc;
        }
        var (status, payload) = _servers.Request(displayPath, source);
        error = status == 0 ? null : Encoding.UTF8.GetString(payload);
        return status == 0 ? payload : null;
    }

    public void Dispose() => _servers.Dispose();
}
