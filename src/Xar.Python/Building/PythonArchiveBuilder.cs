using System.Collections.Concurrent;
using System.Text;
using Xar.Archive;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.SquashFs;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

public sealed record PythonArchiveOptions
{
    /// <summary>The target interpreter, probed once.</summary>
    public required InterpreterProbe Interpreter { get; init; }

    /// <summary>A console script name, a script in bin/, <c>module:function</c> or <c>module</c>; null picks the root's script.</summary>
    public string? Entry { get; init; }

    public BytecodeMode Bytecode { get; init; } = BytecodeMode.Compiled;

    /// <summary>
    /// Compile every module of <c>lib/python</c> into the bundle (--compile-all); off: the root
    /// distribution's own and, of its dependencies, what <see cref="Reached"/> names (without it:
    /// all but their test packages). The rest is shipped as sources, compiled when imported and
    /// cached per user (docs/python-apps.md §1).
    /// </summary>
    public bool CompileAll { get; init; }

    /// <summary>The image paths of the sources the import scan reached from the root distribution's modules (<see cref="ImportClosure"/>); null: no scan ran.</summary>
    public IReadOnlySet<string>? Reached { get; init; }

    /// <summary>
    /// Keep the column positions of the bundle's code (--debug-ranges; Python 3.11+), which
    /// tracebacks use to underline the failing expression; off: line numbers only, as with
    /// <c>-X no_debug_ranges</c> (docs/python-apps.md §1).
    /// </summary>
    public bool DebugRanges { get; init; }

    /// <summary>Pycs the import scan made with the target interpreter, taken instead of compiling those sources again.</summary>
    public CompiledSources? Precompiled { get; init; }

    /// <summary>The compiler's answers kept between builds (<see cref="ServerAnswerCache"/>); null: every source is compiled.</summary>
    public ServerAnswerCache? AnswerCache { get; init; }

    /// <summary>Let the application see the host's site-packages and PYTHON* variables (off: isolated).</summary>
    public bool InheritSite { get; init; }

    /// <summary>Carry the interpreter, its standard library and libpython in the image and start that one (off: the host's, found by name).</summary>
    public bool Standalone { get; init; }

    public SquashFsWriterOptions Image { get; init; } = new();

    /// <summary>The codec level of <c>__xar__/bytecode.bundle</c> (<see cref="ImageEntry.CompressionLevel"/>); null: the image's.</summary>
    public int? BytecodeCompressionLevel { get; init; }
    public XarLayout Layout { get; init; } = XarLayout.Self;

    /// <summary>
    /// The machine the archive is for, recorded as XAR_PLATFORM; null: the interpreter's, unrecorded.
    /// When it is not the interpreter's (<see cref="InterpreterProbe.ForPlatform"/>), every ELF
    /// object in the image must be for it, and the interpreter cannot be carried (standalone).
    /// </summary>
    public TargetPlatform? Platform { get; init; }

    /// <summary>The xarexec launcher (required for the self layout).</summary>
    public Stream? Launcher { get; init; }

    /// <summary>Told about sources that do not compile for the target interpreter (they are shipped without bytecode).</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>Told what the build added on its own (the native libraries bundled).</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>Copy the native libraries the image's ELF objects need into it (docs/python-apps.md §7); off: only XAR_REQUIRES_GLIBC is computed.</summary>
    public bool BundleLibraries { get; init; } = true;

    /// <summary>
    /// Drop the debugging sections and symbol tables of the ELF objects copied from outside the
    /// application (interpreter, libpython, lib-dynload, bundled libraries); off: --no-strip.
    /// Extension modules of distributions are never changed (their RECORD hashes stay true).
    /// </summary>
    public bool Strip { get; init; } = true;

    /// <summary>Libraries loaded with dlopen to bundle too (with their closure): sonames or paths (--include-lib).</summary>
    public IReadOnlyList<string> IncludeLibraries { get; init; } = [];

    /// <summary>Needed libraries that may be missing at build: the target host must provide them (--allow-missing-lib).</summary>
    public IReadOnlyCollection<string> AllowMissingLibraries { get; init; } = [];
}

/// <summary>Writes a Python application as a XAR archive (docs/python-apps.md).</summary>
public static class PythonArchiveBuilder
{
    public const string LibraryDirectory = "lib/python";
    private const string RunScript = "__xar__/run.sh";

    /// <summary>sys.executable of an archive with bundled libraries: starts the interpreter with them on LD_LIBRARY_PATH (docs/python-apps.md §7).</summary>
    internal const string ExecutableWrapper = "__xar__/bin/python";

    public static XarWriteResult Build(PythonApplication application, PythonArchiveOptions options, string outputPath)
    {
        var probe = options.Interpreter;
        var facts = probe.Facts;
        var (defaultEntry, scripts) = ResolveEntries(application, options.Entry);
        string abi = CompatibilityTags.ForInterpreter(facts)[0].Abi;
        string interpreter = VersionedInterpreter(probe.Executable, facts);
        var crossPlatform = options.Platform is { } platform && !IsInterpreterMachine(probe, platform) ? platform : null;
        if (crossPlatform is not null && options.Standalone)
            throw new PythonBuildException($"--standalone for {crossPlatform}: {probe.Executable} runs on {ElfMachineName(probe)}; a standalone archive carries its interpreter, so build it from a {crossPlatform} interpreter (or use --host-python)");
        var standalone = options.Standalone ? new StandaloneInterpreter(probe, options.Strip) : null;
        // The blocks earlier builds compressed, read while the sources compile.
        var keptBlocks = options.AnswerCache is { } cache ? Task.Run(cache.OpenBlocks) : null;
        // The phases are reported through the image's progress: the writer reports the last one.
        var progress = options.Image.Progress;

        // One set of compile servers for the library and the bootstrap: each costs an interpreter start.
        using var compiler = options.Bytecode == BytecodeMode.None ? null : new BytecodeCompiler(probe.Executable, options.Image.Threads, options.Precompiled, KeepsDebugRanges(options.DebugRanges, facts), options.AnswerCache);
        // Files the builder makes carry the newest time of the application's own, not 1970 (a
        // fixed --mtime or SOURCE_DATE_EPOCH applies to them anyway, in the writer).
        long time = application.Files.Select(f => f.ModificationTime).DefaultIfEmpty(0).Max();
        // The sources of the image, installed into one destination: the application, the
        // interpreter (standalone), then the libraries of every ELF object among them.
        var destination = new PythonImageDestination();
        destination.Install(application);
        if (standalone is not null)
        {
            progress?.Begin("reading the interpreter");
            destination.Install(standalone);
        }
        var (interpreterBytecode, startupBytecode) = standalone is null || compiler is null
            ? ([], new HashSet<string>())
            : standalone.Bytecode(probe.Executable, options.Warning);
        progress?.Begin("collecting native libraries");
        var native = NativeLibraries.Collect(destination.Complete(), probe.Executable, options.BundleLibraries, options.Strip, options.IncludeLibraries,
            options.AllowMissingLibraries, time, options.Notice, options.Warning, crossPlatform);
        destination.Install(native);
        var start = StartCommandFor(facts, abi, interpreter, standalone, native.LibraryPath, options.InheritSite);
        // Everything the image holds: those sources with their bytecode, and the bootstrap.
        var entries = new List<ImageEntry>();
        if (compiler is not null) progress?.Begin("compiling bytecode");
        entries.AddRange(WithBytecode(destination.Complete(), application, interpreterBytecode, startupBytecode, standalone, options, compiler, time, out var startReads));
        entries.AddRange(BootstrapEntries(facts, abi, defaultEntry, scripts, start, native.RequiredGlibc, compiler, progress, time));

        var blocks = keptBlocks?.Result;
        var writer = new SquashFsWriter(options.Image with { BlockCache = blocks });
        foreach (var entry in entries)
            writer.Add(entry);

        var header = new XarHeaderFields { Version = writer.ImageTime, XarexecTarget = RunScript };
        header.Extra[XarHeaderKeys.Python] = PythonKey(facts);
        header.Extra[XarHeaderKeys.PythonAbi] = abi;
        if (options.Platform is not null)
            header.Extra[XarHeaderKeys.Platform] = options.Platform.RuntimeIdentifier;
        if (standalone is null)
            header.Extra[XarHeaderKeys.PythonInterpreter] = interpreter;
        if (options.InheritSite)
            header.Extra[XarHeaderKeys.PythonInheritSite] = "1";
        if (application.RequiresPython is { Length: > 0 } requires)
            header.Extra[XarHeaderKeys.RequiresPython] = requires;
        if (native.RequiredGlibc is { } glibc)
            header.Extra[XarHeaderKeys.RequiresGlibc] = glibc;
        start.WriteTo(header);
        StartRead.WriteTo(header, StartReads(entries, startReads, compiler));
        var result = XarArchiveWriter.Write(outputPath, new XarWriteOptions { Header = header, Layout = options.Layout, Launcher = options.Launcher },
            image => writer.WriteTo(image));
        blocks?.Save();
        return result;
    }

    /// <summary>
    /// XAR_START_READS is one line of the 4,096-byte header, which holds every line the original
    /// runtime reads (XarHeaderText): the reads named stay within this many bytes, so that a long
    /// list (an interpreter that imports many modules from files at start) can never fail a build.
    /// </summary>
    internal const int StartReadsBudget = 1024;

    /// <summary>
    /// What every start reads of the image, in order (XAR_START_READS, for the mount's server to
    /// decompress while the interpreter starts): the standard library's start-up pycs (standalone),
    /// the bootstrap's pycs, and the bundle's header, index and the application's own code — within
    /// <see cref="StartReadsBudget"/>: the bundle's head kept first, then the bootstrap's pycs, then
    /// the start-up pycs from the last imported back.
    /// </summary>
    internal static List<StartRead> StartReads(List<ImageEntry> entries, List<StartRead> fromBytecode, BytecodeCompiler? compiler)
    {
        var reads = fromBytecode.Where(read => read.Path != BytecodeBundle.ImagePath).ToList();
        if (compiler is not null)
        {
            var bootstrap = new HashSet<string>([compiler.PycPath("__xar__/xar_bootstrap.py"), compiler.PycPath("__xar__/xar_app.py")], StringComparer.Ordinal);
            reads.AddRange(entries.Where(e => bootstrap.Contains(e.Path)).Select(e => new StartRead(e.Path, e.Content!.Length)));
        }
        reads.AddRange(fromBytecode.Where(read => read.Path == BytecodeBundle.ImagePath));
        return WithinBudget(reads, StartReadsBudget);
    }

    /// <summary>The reads, in their order, that fit in <paramref name="budget"/> bytes of the header's value, taken from the last (the most read) back.</summary>
    internal static List<StartRead> WithinBudget(List<StartRead> reads, int budget)
    {
        int used = -1; // no separator before the first item
        int first = reads.Count;
        while (first > 0)
        {
            int item = 1 + reads[first - 1].ToString().Length;
            if (used + item > budget)
                break;
            used += item;
            first--;
        }
        return reads[first..];
    }

    /// <summary>Whether the interpreter compiles with column positions: asked to, or Python 2, which has none and refuses <c>-X</c>.</summary>
    public static bool KeepsDebugRanges(bool requested, InterpreterFacts facts) => requested || facts.MajorVersion < 3;

    /// <summary>Whether the probed executable runs on <paramref name="platform"/>'s machine (a wrapper script that is no ELF file: this host's).</summary>
    private static bool IsInterpreterMachine(InterpreterProbe probe, TargetPlatform platform) => ElfMachineName(probe) == Xar.Archive.Elf.ElfObject.NameOf(platform.ElfMachine);

    private static string ElfMachineName(InterpreterProbe probe)
    {
        try
        {
            return Xar.Archive.Elf.ElfObject.Read(RealPath.Of(probe.Executable)).MachineName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Xar.Archive.Elf.ElfObject.NameOf(TargetPlatform.Host.ElfMachine);
        }
    }

    /// <summary>
    /// How the launcher starts the archive (docs/python-apps.md §3): the interpreter in the image
    /// (standalone), else the recorded host interpreter — after the <c>pythonX.Y</c> beside it when
    /// its name does not say the version — then <c>pythonX.Y</c> on PATH; isolated, running the bootstrap.
    /// </summary>
    private static StartCommand StartCommandFor(InterpreterFacts facts, string abi, string interpreter, StandaloneInterpreter? standalone, string? bundledLibraries, bool inheritSite)
    {
        string versionedName = $"python{facts.MajorVersion}.{facts.MinorVersion}";
        var programs = new List<string>(3);
        if (standalone is not null)
        {
            programs.Add(StartCommand.InImage(standalone.Executable));
        }
        else
        {
            if (Path.GetFileName(interpreter) != versionedName)
                programs.Add(Path.Combine(Path.GetDirectoryName(interpreter)!, versionedName));
            programs.Add(interpreter);
            programs.Add(versionedName);
        }
        return new StartCommand
        {
            Programs = programs,
            // -B: the image's modules have no pycs beside them (their code is in the bundle), and an
            // interpreter started without the bootstrap (multiprocessing's spawn, which passes -B on)
            // must not write any into an extracted tree.
            Arguments = [.. PythonLaunch.IsolationFlags(facts.MajorVersion, inheritSite), "-B", "-c", PythonLaunch.BootCommand],
            // The closure's directory (which links libpython there when it bundles anything), and
            // the interpreter's own for libpython when nothing was bundled (--no-bundle-libs).
            LibraryPath = new[] { bundledLibraries, standalone?.SharedLibraryDirectory }.OfType<string>().Distinct().ToList(),
            Needs = $"{PythonKey(facts)} ({abi})",
        };
    }

    /// <summary>
    /// What XAR_PYTHON_INTERPRETER records: the build's interpreter by a name that says its
    /// version (<c>/usr/bin/python3</c> → <c>/usr/bin/python3.11</c>), so that the host's
    /// <c>python3</c> later becoming another version does not start the archive under that one.
    /// The <c>pythonX.Y</c> beside it when it is the same file (a venv stays a venv), else the
    /// resolved path when that is so named and no venv is at stake, else the path as it is.
    /// </summary>
    internal static string VersionedInterpreter(string executable, InterpreterFacts facts)
    {
        string name = $"python{facts.MajorVersion}.{facts.MinorVersion}";
        if (Path.GetFileName(executable) == name) return executable;
        string directory = Path.GetDirectoryName(executable)!;
        string real = RealPath.Of(executable);
        string beside = Path.Combine(directory, name);
        if (File.Exists(beside) && RealPath.Of(beside) == real) return beside;
        // A venv is found from the path the interpreter was started by (pyvenv.cfg beside it or one up).
        bool inVenv = File.Exists(Path.Combine(directory, "pyvenv.cfg")) || File.Exists(Path.Combine(directory, "..", "pyvenv.cfg"));
        return Path.GetFileName(real) == name && !inVenv ? real : executable;
    }

    /// <summary><c>cpython-3.11</c>: what XAR_PYTHON records and the launcher matches.</summary>
    public static string PythonKey(InterpreterFacts facts) => $"{facts.Implementation}-{facts.MajorVersion}.{facts.MinorVersion}";

    /// <summary>
    /// The application table: every console and GUI script of the root distribution, every file
    /// in bin/, and the entry given on the command line; the default is that entry, else the root's
    /// only script, else the script named like the distribution.
    /// </summary>
    internal static (string Default, SortedDictionary<string, (string Target, string Kind)> Scripts) ResolveEntries(PythonApplication application, string? requested)
    {
        var scripts = new SortedDictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var script in application.Scripts)
            scripts[script.Name] = (script.Attribute is null ? script.Module : $"{script.Module}:{script.Attribute}", script.Attribute is null ? "module" : "entry");
        foreach (var file in application.Files)
            if (file.Path.StartsWith("bin/", StringComparison.Ordinal) && file.Type is ImageEntryType.File or ImageEntryType.Symlink)
                scripts.TryAdd(file.Path["bin/".Length..], (file.Path, "script"));

        if (requested is not null)
        {
            if (scripts.ContainsKey(requested)) return (requested, scripts);
            if (!IsModuleReference(requested))
                throw new PythonBuildException($"--entry {requested}: not a script of {application.RootDistribution} ({Available(scripts)}), nor module or module:function");
            string name = requested.Split(':')[0].Split('.')[^1];
            scripts[name] = requested.Contains(':') ? (requested, "entry") : (requested, "module");
            return (name, scripts);
        }

        var own = application.Scripts.Select(s => s.Name).ToList();
        if (own.Count == 1) return (own[0], scripts);
        string? sameName = own.FirstOrDefault(n => DistributionName.AreEquivalent(n, application.RootDistribution));
        if (sameName is not null) return (sameName, scripts);
        if (own.Count == 0)
            throw new PythonBuildException($"{application.RootDistribution} has no console script: pass --entry NAME, module:function or module");
        throw new PythonBuildException($"{application.RootDistribution} has several console scripts ({Available(scripts)}): pick one with --entry");
    }

    private static string Available(IDictionary<string, (string, string)> scripts) =>
        scripts.Count == 0 ? "it has none" : string.Join(", ", scripts.Keys);

    private static bool IsModuleReference(string text)
    {
        var parts = text.Split(':');
        if (parts.Length > 2) return false;
        return parts.All(p => p.Length > 0 && p.Split('.').All(IsIdentifier));
    }

    private static bool IsIdentifier(string s) =>
        s.Length > 0 && (char.IsLetter(s[0]) || s[0] == '_') && s.All(c => char.IsLetterOrDigit(c) || c == '_');

    /// <summary>
    /// Compiles the library's .py files on every core into the bundle (<see cref="BytecodeBundle"/>),
    /// with the standard library's code of a standalone archive. Each module's code is stored once:
    /// in the bundle, not also as a <c>__pycache__</c> pyc (docs/python-apps.md §5); the pycs kept
    /// are those interpreters need before the bootstrap's finder is in place (the standard library
    /// modules a standalone interpreter imports at start, the bootstrap's own) and, with
    /// <see cref="BytecodeMode.Only"/>, the sourceless modules themselves.
    /// </summary>
    private static List<ImageEntry> WithBytecode(IReadOnlyList<ImageEntry> files, PythonApplication application, Dictionary<string, byte[]> interpreterBytecode,
        IReadOnlySet<string> startupBytecode, StandaloneInterpreter? standalone, PythonArchiveOptions options, BytecodeCompiler? compiler, long time,
        out List<StartRead> startReads)
    {
        startReads = [];
        if (compiler is null) return [.. files];
        var sources = files.Where(f => IsLibrarySource(f) && IsCompiled(f.Path, application, options)).ToList();
        var progress = options.Image.Progress;
        progress?.Found(sources.Count, 0);
        var compiled = new ConcurrentDictionary<string, ImageEntry>(StringComparer.Ordinal);
        // Sources are read once, here: the writer gets the same bytes (a wheel member would
        // otherwise be inflated and checked against RECORD a second time).
        var read = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
        var bundle = new BytecodeBundle(standalone is null ? [LibraryDirectory] : [LibraryDirectory, standalone.StandardLibrary], application.OwnFiles);
        LargestFirst.ForEach(sources, source => source.Content!.Length, compiler.ServerCount, CompileOne);

        void CompileOne(ImageEntry source)
        {
            byte[] bytes = ReadAll(source.Content!);
            read[source.Path] = bytes;
            byte[]? pyc = compiler.Compile(source.Path, bytes, out string? error);
            if (pyc is null)
            {
                options.Warning?.Invoke($"{source.Path}: does not compile for {PythonKey(options.Interpreter.Facts)}, shipped without bytecode ({error})");
                return;
            }
            progress?.Advance(1, bytes.Length);
            progress?.CompiledOne();
            if (options.Bytecode != BytecodeMode.Only)
            {
                bundle.Add(source.Path, pyc);
                return;
            }
            string path = source.Path[..^3] + ".pyc";
            bundle.Add(path, pyc);
            compiled[source.Path] = Pyc(path, pyc, source.ModificationTime);
        }

        var result = new List<ImageEntry>(files.Count + startupBytecode.Count + 1);
        foreach (var file in files)
        {
            if (compiled.ContainsKey(file.Path))
                continue; // replaced by its pyc (--bytecode only)
            result.Add(read.TryGetValue(file.Path, out byte[]? bytes)
                ? new ImageEntry
                {
                    Path = file.Path, Type = file.Type, Content = FileContent.FromBytes(bytes), Permissions = file.Permissions,
                    Uid = file.Uid, Gid = file.Gid, ModificationTime = file.ModificationTime, Xattrs = file.Xattrs,
                }
                : file);
        }
        result.AddRange(compiled.Values.OrderBy(e => e.Path, StringComparer.Ordinal));
        // The standard library keeps its sources whatever --bytecode says (tracebacks, inspect): only the application's are replaced.
        foreach (var file in files)
        {
            if (interpreterBytecode.TryGetValue(file.Path, out byte[]? pyc))
            {
                bundle.Add(file.Path, pyc);
                // Imported by the interpreter's start, before the bootstrap's finder serves the bundle.
                if (startupBytecode.Contains(file.Path))
                {
                    result.Add(Pyc(compiler.PycPath(file.Path), pyc, file.ModificationTime));
                    startReads.Add(new StartRead(compiler.PycPath(file.Path), pyc.Length));
                }
                progress?.CompiledOne();
            }
        }
        if (!bundle.IsEmpty) // nothing compiled: the bootstrap would have nothing to serve from it
        {
            result.Add(new ImageEntry
            {
                Path = BytecodeBundle.ImagePath, Type = ImageEntryType.File, Content = bundle.Build(result, out long head), Permissions = 0b110_100_100, ModificationTime = time,
                CompressionLevel = options.BytecodeCompressionLevel,
            });
            startReads.Add(new StartRead(BytecodeBundle.ImagePath, head));
        }
        return result;
    }

    /// <summary>
    /// Whether a source of <c>lib/python</c> is compiled into the bundle at build. Every start reads
    /// its code from the bundle, so it holds what a run may import: the root distribution's own
    /// modules (it loads some by computed names: cfn-lint's rules) and the dependencies' modules
    /// their imports reach, followed transitively (sympy's and botocore's parts that nothing
    /// imports, 21 % of cfn-lint's dependencies' code, are not). Without an import scan (no
    /// environment to follow imports into), every module but the dependencies' test packages.
    /// </summary>
    internal static bool IsCompiled(string path, PythonApplication application, PythonArchiveOptions options)
    {
        if (options.CompileAll || application.OwnFiles is not { } own || own.Contains(path)) return true;
        return options.Reached is { } reached ? reached.Contains(path) : !IsDependencyTest(path, application);
    }

    /// <summary>
    /// A module of a test directory (test, tests, testing: a distribution's test suite, such as
    /// sympy/core/tests or numpy/testing, which the application does not import when it runs; 37 %
    /// of cfn-lint's code) below <c>lib/python</c> that the root distribution does not install: it
    /// is shipped as a source and not compiled at build, so the bundle does not carry code nothing
    /// runs (imported anyway, it compiles then, as with <c>--bytecode none</c>).
    /// </summary>
    internal static bool IsDependencyTest(string path, PythonApplication application)
    {
        if (application.OwnFiles is not { } own || own.Contains(path) || !path.StartsWith(LibraryDirectory + "/", StringComparison.Ordinal))
            return false;
        var directories = path.AsSpan(LibraryDirectory.Length + 1);
        directories = directories[..Math.Max(directories.LastIndexOf('/'), 0)];
        foreach (var range in directories.Split('/'))
            if (directories[range] is "test" or "tests" or "testing")
                return true;
        return false;
    }

    private static ImageEntry Pyc(string path, byte[] pyc, long time) => new()
    {
        Path = path,
        Type = ImageEntryType.File,
        Content = FileContent.FromBytes(pyc),
        Permissions = 0b110_100_100,
        ModificationTime = time,
    };

    private static bool IsLibrarySource(ImageEntry entry) =>
        entry.Type == ImageEntryType.File && entry.Path.StartsWith(LibraryDirectory + "/", StringComparison.Ordinal)
        && entry.Path.EndsWith(".py", StringComparison.Ordinal);

    private static byte[] ReadAll(FileContent content)
    {
        using var stream = content.OpenRead();
        var bytes = new byte[content.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static IEnumerable<ImageEntry> BootstrapEntries(InterpreterFacts facts, string abi, string defaultEntry,
        SortedDictionary<string, (string Target, string Kind)> scripts, StartCommand start, string? requiredGlibc, BytecodeCompiler? compiler, OperationProgress? progress, long time)
    {
        var bootstrap = Encoding.UTF8.GetBytes(PythonResources.Read("xar_bootstrap.py"));
        var table = new StringBuilder();
        table.Append("# The application table of this archive, written by xar build.\n");
        // What the bootstrap checks the running interpreter against: implementation, version, ABI.
        table.Append($"PYTHON = ({PythonLiteral(facts.Implementation)}, {facts.MajorVersion}, {facts.MinorVersion}, {PythonLiteral(abi)})\n");
        table.Append($"DEFAULT = {PythonLiteral(defaultEntry)}\n");
        table.Append("SCRIPTS = {\n");
        foreach (var (name, (target, kind)) in scripts)
            table.Append($"    {PythonLiteral(name)}: ({PythonLiteral(target)}, {PythonLiteral(kind)}),\n");
        table.Append("}\n");
        // The image directory the launcher put in front of LD_LIBRARY_PATH, which the bootstrap takes out again for the application's children.
        table.Append($"LIBRARY_PATH = {(start.LibraryPath.Count == 0 ? "None" : PythonLiteral(string.Join(':', start.LibraryPath)))}\n");
        var app = Encoding.UTF8.GetBytes(table.ToString());
        string run = start.ShellScript(RunScript, requiredGlibc);

        yield return ImageEntry.File("__xar__/xar_bootstrap.py", FileContent.FromBytes(bootstrap), 0b110_100_100, time);
        yield return ImageEntry.File("__xar__/xar_app.py", FileContent.FromBytes(app), 0b110_100_100, time);
        yield return ImageEntry.File(RunScript, FileContent.FromBytes(Encoding.UTF8.GetBytes(run)), 0b111_101_101, time);
        if (start.LibraryPath.Count > 0)
        {
            string wrapper = PythonResources.Read("python.sh").Replace("@LIBRARY_PATH@", string.Join(':', start.LibraryPath.Select(d => "$root/" + d)));
            yield return ImageEntry.File(ExecutableWrapper, FileContent.FromBytes(Encoding.UTF8.GetBytes(wrapper)), 0b111_101_101, time);
        }
        if (compiler is not null)
        {
            foreach (var (path, source) in new[] { ("__xar__/xar_bootstrap.py", bootstrap), ("__xar__/xar_app.py", app) })
            {
                progress?.CompiledOne();
                yield return ImageEntry.File(compiler.PycPath(path), FileContent.FromBytes(compiler.Compile(path, source, out _)!), 0b110_100_100, time);
            }
        }
    }

    private static string PythonLiteral(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
            sb.Append(c switch { '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", _ => c.ToString() });
        return sb.Append('"').ToString();
    }
}
