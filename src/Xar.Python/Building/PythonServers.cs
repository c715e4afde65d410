using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text;

namespace Xar.Python.Building;

/// <summary>
/// Long-lived processes of the target interpreter, one per core, each running a server of
/// Bootstrap/ (compile_server.py, import_scanner.py) after the request loop they share
/// (request_server.py): interpreter starts take tens of milliseconds, so sources are streamed to
/// a few servers rather than one process per file. The protocol: the server first writes one line
/// (its greeting: the cache tag, the standard library's names); then each request <c>&lt;u32 path
/// length&gt;&lt;path&gt;&lt;u32 source length&gt;&lt;source&gt;</c> is answered <c>&lt;u32
/// status&gt;&lt;u32 length&gt;&lt;payload&gt;</c>.
/// </summary>
internal sealed class PythonServers : IDisposable
{
    private readonly List<Server> _servers = [];
    private readonly Stack<Server> _idle = new();
    private readonly SemaphoreSlim _available;
    private readonly ServerAnswerCache.Store? _answers;

    private static readonly string RequestLoop = PythonResources.Read("request_server.py");

    /// <summary>
    /// The interpreter's options: no site-packages (-S), no user site (-s), and no PYTHON* variable
    /// of the build's environment, as with -I (-E -s) — but with PYTHONHASHSEED=0, which -E would
    /// ignore: before 3.11, marshal writes a frozenset constant (<c>x in {"a", "b"}</c>) in the
    /// order of the process's string hashes, so with a random seed per server the same source gave
    /// other pyc bytes in every build. The working directory a <c>-c</c> program has first on
    /// sys.path is taken out by request_server.py.
    /// </summary>
    private static readonly string[] Flags = ["-s", "-S"];

    /// <summary>
    /// Code without column positions (PEP 657, Python 3.11+; ignored by 3.7–3.10, which have none):
    /// they are 29 % of the compressed bytecode of cfn-lint's dependencies, and only tracebacks'
    /// <c>^^^</c> markers use them (docs/python-apps.md §1).
    /// </summary>
    private static readonly string[] WithoutDebugRanges = ["-X", "no_debug_ranges"];

    /// <param name="serverSource">The server's source (Bootstrap/), run after the request loop.</param>
    /// <param name="arguments">The server's arguments (its sys.argv after the program).</param>
    /// <param name="debugRanges">Off: the interpreter runs with <c>-X no_debug_ranges</c> (<see cref="WithoutDebugRanges"/>), so the code it compiles has no column positions.</param>
    /// <param name="purpose">What the servers are for, in error messages ("compile bytecode").</param>
    /// <param name="withoutGreeting">The error when a server writes no greeting (the interpreter is too old for the script).</param>
    /// <param name="cache">Where answers of earlier builds are kept (<see cref="ServerAnswerCache"/>); null: every request goes to a server.</param>
    public PythonServers(string interpreter, string serverSource, IReadOnlyList<string> arguments, int servers, string purpose, string withoutGreeting,
        bool debugRanges = true, ServerAnswerCache? cache = null)
    {
        int count = servers > 0 ? servers : Environment.ProcessorCount;
        string[] command = [.. Flags, .. debugRanges ? [] : WithoutDebugRanges, "-c", RequestLoop + "\n" + serverSource, .. arguments];
        var starts = Enumerable.Range(0, count).Select(_ => Task.Run(() => Server.Start(interpreter, command, purpose, withoutGreeting))).ToArray();
        // Read while the interpreters start.
        var answers = cache is null ? null : Task.Run(() => cache.Open(interpreter, command));
        try
        {
            Task.WaitAll(starts);
            _answers = answers?.Result;
        }
        catch (AggregateException e)
        {
            foreach (var started in starts.Where(t => t.IsCompletedSuccessfully)) started.Result.Dispose();
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        _servers.AddRange(starts.Select(t => t.Result));
        foreach (var server in _servers) _idle.Push(server);
        _available = new SemaphoreSlim(count);
        Greeting = _servers[0].Greeting;
    }

    /// <summary>How many requests can be served at once.</summary>
    public int Count => _servers.Count;

    /// <summary>The first line the servers wrote.</summary>
    public string Greeting { get; }

    /// <summary>The answer to one request: kept from an earlier build, else from an idle server. Thread-safe.</summary>
    public (uint Status, byte[] Payload) Request(string path, ReadOnlySpan<byte> source)
    {
        if (_answers is null) return Serve(path, source);
        var key = ServerAnswerCache.Store.KeyOf(path, source);
        if (_answers.Find(key) is { } kept) return kept;
        var answer = Serve(path, source);
        _answers.Add(key, answer.Status, answer.Payload);
        return answer;
    }

    private (uint Status, byte[] Payload) Serve(string path, ReadOnlySpan<byte> source)
    {
        _available.Wait();
        Server server;
        lock (_idle) server = _idle.Pop();
        try
        {
            return server.Request(path, source);
        }
        finally
        {
            lock (_idle) _idle.Push(server);
            _available.Release();
        }
    }

    public void Dispose()
    {
        foreach (var server in _servers) server.Dispose();
        _answers?.Save();
    }

    private sealed class Server : IDisposable
    {
        private readonly Process _process;
        private readonly IDisposable _endOnInterrupt;
        private readonly Stream _input;
        private readonly Stream _output;
        private readonly string _purpose;

        private Server(Process process, IDisposable endOnInterrupt, string greeting, string purpose)
        {
            _process = process;
            _endOnInterrupt = endOnInterrupt;
            _input = process.StandardInput.BaseStream;
            _output = process.StandardOutput.BaseStream;
            Greeting = greeting;
            _purpose = purpose;
        }

        public string Greeting { get; }

        public static Server Start(string interpreter, IReadOnlyList<string> command, string purpose, string withoutGreeting)
        {
            var start = new ProcessStartInfo(interpreter)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in command) start.ArgumentList.Add(argument);
            foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("PYTHON", StringComparison.Ordinal)).ToList())
                start.Environment.Remove(name);
            start.Environment["PYTHONHASHSEED"] = "0";
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new PythonBuildException($"{interpreter}: cannot run the target interpreter to {purpose} ({e.Message})");
            }
            var endOnInterrupt = ChildProcesses.EndOnInterrupt(process);
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            string? greeting = ReadLine(process.StandardOutput.BaseStream);
            if (string.IsNullOrEmpty(greeting))
            {
                endOnInterrupt.Dispose();
                process.Kill();
                throw new PythonBuildException($"{interpreter}: {withoutGreeting}");
            }
            return new Server(process, endOnInterrupt, greeting, purpose);
        }

        public (uint Status, byte[] Payload) Request(string path, ReadOnlySpan<byte> source)
        {
            byte[] pathBytes = Encoding.UTF8.GetBytes(path);
            Span<byte> word = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)pathBytes.Length);
            _input.Write(word[..4]);
            _input.Write(pathBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)source.Length);
            _input.Write(word[..4]);
            _input.Write(source);
            _input.Flush();

            ReadExactly(word);
            uint status = BinaryPrimitives.ReadUInt32LittleEndian(word);
            var payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(word[4..])];
            ReadExactly(payload);
            return (status, payload);
        }

        private void ReadExactly(Span<byte> buffer)
        {
            try
            {
                _output.ReadExactly(buffer);
            }
            catch (EndOfStreamException)
            {
                throw new PythonBuildException($"{_process.StartInfo.FileName}: the server started to {_purpose} exited unexpectedly");
            }
        }

        private static string? ReadLine(Stream stream)
        {
            var line = new List<byte>();
            int b;
            while ((b = stream.ReadByte()) >= 0 && b != '\n') line.Add((byte)b);
            return b < 0 ? null : Encoding.UTF8.GetString(line.ToArray());
        }

        public void Dispose()
        {
            try
            {
                _input.Close();
                if (!_process.WaitForExit(5000)) _process.Kill();
            }
            catch (IOException)
            {
                // The server already exited; nothing to close.
            }
            _endOnInterrupt.Dispose();
            _process.Dispose();
        }
    }
}
