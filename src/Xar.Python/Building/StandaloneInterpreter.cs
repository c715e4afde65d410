using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Xar.Archive;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

/// <summary>
/// The build's interpreter as image entries (docs/python-apps.md §6): its executable, the standard
/// library without its test suites, lib-dynload and libpython, laid out under <see cref="Home"/> as
/// a CPython installation, so that the interpreter's own prefix computation (getpath: the landmark
/// <c>lib/pythonX.Y/os.py</c> above the executable) finds them with no PYTHONHOME. The standard
/// library's bytecode comes from the installation's own <c>__pycache__</c> where importlib would
/// accept it (Bootstrap/stdlib_bytecode.py): a build compiles only what the installation left stale.
/// A source like any distribution (its files are in <see cref="InstallScheme.Image"/>).
/// </summary>
internal sealed class StandaloneInterpreter : IDistributionSource
{
    /// <summary>The interpreter's prefix in the image.</summary>
    public const string Home = "__xar__/python";

    /// <summary>Where libpython goes: <c>$prefix/lib</c>, as in an installation.</summary>
    public const string LibraryDirectory = Home + "/lib";

    /// <summary>Directories of the standard library that only its own tests use.</summary>
    private static readonly string[] TestSuites = ["test", "idlelib/idle_test", "tkinter/test", "lib2to3/tests", "ctypes/test",
        "unittest/test", "distutils/tests", "sqlite3/test", "sqlite3/tests"];

    private readonly InterpreterInstallation _installation;
    private readonly string _version;
    private readonly Lazy<List<DistributionFile>> _files;

    private readonly bool _strip;

    /// <param name="strip">Whether the interpreter's ELF objects lose their debugging sections (<see cref="NativeLibraries.Copy"/>).</param>
    public StandaloneInterpreter(InterpreterProbe probe, bool strip)
    {
        _strip = strip;
        _installation = probe.Installation;
        _version = $"{probe.Facts.MajorVersion}.{probe.Facts.MinorVersion}";
        _files = new(ListFiles);
    }

    public string Origin => _installation.Executable;

    public ShebangRewrite Shebangs => ShebangRewrite.AnyPython;

    public InstallRecord? Record => null;

    /// <summary>The interpreter executable in the image.</summary>
    public string Executable => $"{Home}/bin/python{_version}";

    /// <summary>The standard library in the image (the directory bytecode is served for, besides lib/python).</summary>
    public string StandardLibrary => $"{Home}/lib/python{_version}";

    private string DynamicModules => $"{Home}/{_installation.PlatformLibraryDirectory}/python{_version}/lib-dynload";

    /// <summary>
    /// The image directory of the interpreter's libpython, if it is linked against one: on
    /// LD_LIBRARY_PATH, which the loader searches before the RUNPATH the build host's copy names.
    /// </summary>
    public string? SharedLibraryDirectory => _installation.SharedLibrary is null ? null : LibraryDirectory;

    /// <summary>The interpreter's files, sources of the standard library among them.</summary>
    /// <exception cref="PythonBuildException">A file of the installation cannot be read.</exception>
    public IReadOnlyList<DistributionFile> GetFiles() => _files.Value;

    /// <summary>
    /// The bytecode of the standard library's sources (image path of the source → unchecked-hash pyc),
    /// and which of them the interpreter imports at start, before the bootstrap serves the bundle (their pycs stay files).
    /// </summary>
    /// <exception cref="PythonBuildException">The bytecode helper failed.</exception>
    public (Dictionary<string, byte[]> Bytecode, HashSet<string> Startup) Bytecode(string interpreter, Action<string>? warning)
    {
        var sources = GetFiles().Where(f => f.Path.StartsWith(StandardLibrary + "/", StringComparison.Ordinal) && f.Path.EndsWith(".py", StringComparison.Ordinal)).ToList();
        var compiled = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var startup = new HashSet<string>(StringComparer.Ordinal);
        var pycs = CompileStandardLibrary(interpreter, sources.Select(s => HostPath(s.Path)).ToList());
        for (int i = 0; i < sources.Count; i++)
        {
            if (pycs[i].Pyc is { } pyc) compiled[sources[i].Path] = pyc;
            else warning?.Invoke($"{HostPath(sources[i].Path)}: does not compile for python{_version}, shipped without bytecode ({pycs[i].Error})");
            if (pycs[i].AtStartup) startup.Add(sources[i].Path);
        }
        return (compiled, startup);
    }

    public override string ToString() => $"the interpreter {_installation.Executable}";

    private List<DistributionFile> ListFiles()
    {
        var files = new List<DistributionFile> { Copy(_installation.Executable, Executable) };
        if (_installation.SharedLibrary is { } shared)
            files.Add(Copy(shared, $"{LibraryDirectory}/{Path.GetFileName(shared)}"));

        string? dynload = _installation.DynamicModules is { } d && Directory.Exists(d) ? Path.GetFullPath(d) : null;
        Walk(_installation.StandardLibrary, StandardLibrary, files, skip: dynload);
        if (dynload is not null)
            Walk(dynload, DynamicModules, files, skip: null);
        return files;
    }

    /// <summary>The installation's file that an image path under <see cref="StandardLibrary"/> came from.</summary>
    private string HostPath(string imagePath) => _installation.StandardLibrary + imagePath[StandardLibrary.Length..];

    private DistributionFile Copy(string hostPath, string imagePath)
    {
        var info = new FileInfo(hostPath);
        if (!info.Exists)
            throw new PythonBuildException($"{hostPath}: the interpreter's file is missing, so it cannot go into a standalone archive");
        int permissions = (int)info.UnixFileMode & 0b111_101_101 | 0b100_100_100;
        return DistributionFile.File(InstallScheme.Image, imagePath, NativeLibraries.Copy(hostPath, imagePath, _strip, ImageDirectoryOf), permissions,
            new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds());
    }

    /// <summary>
    /// Where a directory of the build host that the interpreter's objects search (pyenv's absolute
    /// RUNPATH, <c>PREFIX/lib</c>, the directory above the standard library) is in the image:
    /// <see cref="LibraryDirectory"/>, where libpython is, for that one; for any other, the library
    /// closure's directory, where the closure copies what it found there.
    /// </summary>
    private string? ImageDirectoryOf(string hostDirectory)
    {
        if (hostDirectory == Path.GetDirectoryName(Path.GetFullPath(_installation.StandardLibrary).TrimEnd('/')))
            return LibraryDirectory;
        return NativeLibraries.InLibraryDirectory(hostDirectory);
    }

    /// <summary>
    /// Adds the regular files below <paramref name="hostDirectory"/> (a symlink to a file inside
    /// it is copied as that file; one leading out, such as Debian's sitecustomize.py → /etc, is
    /// left out), without site-packages, build configuration, test suites, __pycache__ and
    /// ensurepip's bundled wheels.
    /// </summary>
    private void Walk(string hostDirectory, string imageDirectory, List<DistributionFile> files, string? skip)
    {
        string root = Path.GetFullPath(hostDirectory).TrimEnd('/');
        string realRoot = RealPath.Of(root);
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0)
        {
            string relative = pending.Pop();
            string directory = relative.Length == 0 ? root : root + "/" + relative;
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            {
                string path = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                if (entry.LinkTarget is not null)
                {
                    string target = RealPath.Of(entry.FullName);
                    if (!target.StartsWith(realRoot + "/", StringComparison.Ordinal) || !File.Exists(target))
                        continue;
                    files.Add(Copy(target, imageDirectory + "/" + path));
                }
                else if (entry is DirectoryInfo)
                {
                    if (!IsLeftOut(path) && entry.FullName != skip)
                        pending.Push(path);
                }
                else if (entry is FileInfo && (entry.Attributes & FileAttributes.Device) == 0)
                {
                    files.Add(Copy(entry.FullName, imageDirectory + "/" + path));
                }
            }
        }
    }

    private static bool IsLeftOut(string directory) =>
        directory is "site-packages" or "dist-packages" or "ensurepip/_bundled"
        || directory.StartsWith("config-", StringComparison.Ordinal)
        || directory == "__pycache__" || directory.EndsWith("/__pycache__", StringComparison.Ordinal)
        || TestSuites.Contains(directory);

    /// <summary>stdlib_bytecode.py's status of a pyc of a module the interpreter imports at start.</summary>
    private const uint StatusStartupPyc = 2;

    /// <summary>Runs Bootstrap/stdlib_bytecode.py once for all <paramref name="sources"/> (in their order).</summary>
    private static List<(byte[]? Pyc, string? Error, bool AtStartup)> CompileStandardLibrary(string interpreter, List<string> sources)
    {
        var start = new ProcessStartInfo(interpreter)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-I", "-S", "-c", PythonResources.Read("stdlib_bytecode.py") }) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new PythonBuildException($"{interpreter}: cannot run the target interpreter to collect the standard library's bytecode");
        using var endOnInterrupt = ChildProcesses.EndOnInterrupt(process);
        var errors = process.StandardError.ReadToEndAsync();
        // Written from another thread: the answers come while the names are still being sent.
        var writer = Task.Run(() =>
        {
            using var input = process.StandardInput.BaseStream;
            foreach (string source in sources)
            {
                input.Write(Encoding.UTF8.GetBytes(source));
                input.WriteByte(0);
            }
        });
        var output = process.StandardOutput.BaseStream;
        var results = new List<(byte[]?, string?, bool)>(sources.Count);
        Span<byte> head = stackalloc byte[8];
        try
        {
            foreach (string _ in sources)
            {
                output.ReadExactly(head);
                var payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(head[4..])];
                output.ReadExactly(payload);
                uint status = BinaryPrimitives.ReadUInt32LittleEndian(head);
                results.Add(status == 1 ? (null, Encoding.UTF8.GetString(payload), false) : (payload, null, status == StatusStartupPyc));
            }
        }
        catch (EndOfStreamException)
        {
            process.WaitForExit();
            string last = errors.Result.TrimEnd().Split('\n')[^1];
            throw new PythonBuildException($"{interpreter}: collecting the standard library's bytecode failed: {last}");
        }
        writer.Wait();
        process.WaitForExit();
        return results;
    }
}
