using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text;

namespace Xar.Python.Building;

/// <summary>
/// Compiles Python sources to unchecked-hash pycs (PEP 552) with the target interpreter itself,
/// so the bytecode matches the interpreter that will run it and nothing is recompiled at run
/// time. One long-lived compile server per core (Bootstrap/compile_server.py); sources are
/// streamed to it, no staging directory.
/// </summary>
public sealed class BytecodeCompiler : IDisposable
{
    private readonly List<Server> _servers = [];
    private readonly Stack<Server> _idle = new();
    private readonly SemaphoreSlim _available;

    public BytecodeCompiler(string interpreter, int servers = 0)
    {
        int count = servers > 0 ? servers : Environment.ProcessorCount;
        // Interpreter starts take tens of milliseconds each: start them all at once.
        var starts = Enumerable.Range(0, count).Select(_ => Task.Run(() => Server.Start(interpreter))).ToArray();
        try
        {
            Task.WaitAll(starts);
        }
        catch (AggregateException e)
        {
            foreach (var started in starts.Where(t => t.IsCompletedSuccessfully)) started.Result.Dispose();
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        _servers.AddRange(starts.Select(t => t.Result));
        foreach (var server in _servers) _idle.Push(server);
        _available = new SemaphoreSlim(count);
        CacheTag = _servers[0].CacheTag;
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
        _available.Wait();
        Server server;
        lock (_idle) server = _idle.Pop();
        try
        {
            return server.Compile(displayPath, source, out error);
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
    }

    private sealed class Server : IDisposable
    {
        private readonly Process _process;
        private readonly IDisposable _endOnInterrupt;
        private readonly Stream _input;
        private readonly Stream _output;

        private Server(Process process, IDisposable endOnInterrupt, string cacheTag)
        {
            _process = process;
            _endOnInterrupt = endOnInterrupt;
            _input = process.StandardInput.BaseStream;
            _output = process.StandardOutput.BaseStream;
            CacheTag = cacheTag;
        }

        public string CacheTag { get; }

        public static Server Start(string interpreter)
        {
            var start = new ProcessStartInfo(interpreter)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "-I", "-S", "-c", CompileServerSource }) start.ArgumentList.Add(argument);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new PythonBuildException($"{interpreter}: cannot run the target interpreter to compile bytecode ({e.Message})");
            }
            var endOnInterrupt = ChildProcesses.EndOnInterrupt(process);
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            string? tag = ReadLine(process.StandardOutput.BaseStream);
            if (string.IsNullOrEmpty(tag))
            {
                endOnInterrupt.Dispose();
                process.Kill();
                throw new PythonBuildException($"{interpreter}: cannot compile bytecode (needs Python 3.7 or newer for hash-based pycs)");
            }
            return new Server(process, endOnInterrupt, tag);
        }

        public byte[]? Compile(string displayPath, ReadOnlySpan<byte> source, out string? error)
        {
            byte[] path = Encoding.UTF8.GetBytes(displayPath);
            Span<byte> word = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)path.Length);
            _input.Write(word[..4]);
            _input.Write(path);
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)source.Length);
            _input.Write(word[..4]);
            _input.Write(source);
            _input.Flush();

            ReadExactly(word);
            uint status = BinaryPrimitives.ReadUInt32LittleEndian(word);
            var payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(word[4..])];
            ReadExactly(payload);
            if (status == 0)
            {
                error = null;
                return payload;
            }
            error = Encoding.UTF8.GetString(payload);
            return null;
        }

        private void ReadExactly(Span<byte> buffer)
        {
            try
            {
                _output.ReadExactly(buffer);
            }
            catch (EndOfStreamException)
            {
                throw new PythonBuildException($"{_process.StartInfo.FileName}: the bytecode compiler exited unexpectedly");
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

    private static readonly string CompileServerSource = PythonResources.Read("compile_server.py");
}
