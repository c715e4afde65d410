using System.Buffers.Binary;
using System.Text;

namespace Xar.Python.Building;

/// <summary>
/// One import of a source: <c>import a.b</c> (Module <c>a.b</c>), <c>from ..pkg import x, y</c>
/// (Level 2, Module <c>pkg</c>, Names x and y), <c>import_module("a")</c> or <c>__import__("a")</c>
/// with a literal name; with a name computed at run time, Module is <see cref="Dynamic"/>.
/// </summary>
/// <param name="IsOptional">Inside a try whose handlers catch ImportError (or a base of it), or under <c>if TYPE_CHECKING:</c>.</param>
/// <param name="IsDeferred">Inside a function: it runs when the function is called, not when the module is imported.</param>
public sealed record ModuleImport(int Level, bool IsOptional, bool IsDeferred, string Module, IReadOnlyList<string> Names)
{
    /// <summary>The module of an <c>import_module(name)</c> or <c>__import__(name)</c> whose name is not a literal.</summary>
    public const string Dynamic = "*";

    /// <summary>
    /// The absolute module name the import starts from, for a source that is module
    /// <paramref name="importer"/> (a package's <c>__init__</c> when <paramref name="importerIsPackage"/>);
    /// null when a relative import climbs above the top-level package.
    /// </summary>
    public string? AbsoluteModule(string importer, bool importerIsPackage)
    {
        if (Level == 0) return Module;
        var package = importer.Split('.').ToList();
        if (!importerIsPackage) package.RemoveAt(package.Count - 1);
        if (Level - 1 >= package.Count) return null;
        package.RemoveRange(package.Count - (Level - 1), Level - 1);
        if (Module.Length > 0) package.Add(Module);
        return string.Join('.', package);
    }
}

/// <summary>
/// Finds the imports of Python sources with the target interpreter's own <c>ast</c>
/// (Bootstrap/import_scanner.py), on long-lived servers, one per core: Python 2.7 sources parse
/// with 2.7's grammar. Tests on <c>sys.version_info</c> and <c>sys.platform</c> are evaluated for
/// the target, so imports of a backport another Python version needs are not seen. With
/// <c>compileInto</c> (Python 3.7+), a source is compiled from its text and its imports are read
/// from the bytecode, with the ast only where the bytecode cannot say what is optional
/// (import_scanner.py; docs/python-distributions.md, "Undeclared imports").
/// </summary>
public sealed class ImportScanner : IDisposable
{
    private static readonly string ScannerSource = PythonResources.Read("import_scanner.py");

    private readonly PythonServers _servers;
    private readonly CompiledSources? _compiled;

    /// <param name="compileInto">Where to keep the pyc of each source scanned, compiled by the scan (Python 3.7 or newer), with its column positions setting; null: scan only, with the ast.</param>
    /// <param name="cache">Answers kept from earlier builds (<see cref="ServerAnswerCache"/>); null: every source is scanned.</param>
    public ImportScanner(string interpreter, int servers = 0, CompiledSources? compileInto = null, ServerAnswerCache? cache = null)
    {
        _servers = new PythonServers(interpreter, ScannerSource, compileInto is null ? [] : ["--compile"], servers, "scan imports",
            "cannot scan imports (the import scanner did not start)", compileInto?.DebugRanges ?? true, cache);
        _compiled = compileInto;
        StandardLibrary = _servers.Greeting.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>How many sources can be scanned at once.</summary>
    public int ServerCount => _servers.Count;

    /// <summary>The top-level names of the interpreter's standard library: built-in modules, and what its stdlib and lib-dynload directories hold.</summary>
    public IReadOnlySet<string> StandardLibrary { get; }

    /// <summary>
    /// The imports of one source, in order; null with <paramref name="error"/> set when it does not
    /// parse for the target. With <c>compileInto</c>, its pyc is kept there. Thread-safe.
    /// </summary>
    public IReadOnlyList<ModuleImport>? Scan(string displayPath, ReadOnlySpan<byte> source, out string? error)
    {
        var (status, payload) = _servers.Request(displayPath, source);
        if (status != 0)
        {
            error = Encoding.UTF8.GetString(payload);
            return null;
        }
        error = null;
        ReadOnlySpan<byte> lines = payload;
        if (_compiled is not null)
        {
            // <u32 length><lines><pyc>; no pyc when the source parses but does not compile.
            int length = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(payload));
            lines = payload.AsSpan(4, length);
            if (payload.Length > 4 + length)
                _compiled.Add(displayPath, source, payload[(4 + length)..]);
        }
        var imports = new List<ModuleImport>();
        foreach (string line in Encoding.UTF8.GetString(lines).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = line.Split('\t');
            imports.Add(new ModuleImport(int.Parse(fields[0]), fields[1] == "1", fields[2] == "1", fields[3],
                fields[4].Split(',', StringSplitOptions.RemoveEmptyEntries)));
        }
        return imports;
    }

    public void Dispose() => _servers.Dispose();
}
