using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Xar.Archive;
using Xar.Archive.Elf;
using Xar.Python.Building;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.SquashFs;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Writing;

namespace Xar.Cli;

/// <summary>
/// `xar build`, in these forms:
///   xar build PROJECT_DIR -o OUT.xar [--python PY] [--entry E] [pip options]
///   xar build --wheels DIR_OR_WHEEL... REQUIREMENT... [-r REQUIREMENTS.txt] -o OUT.xar
///   xar build --lock pylock.toml [--wheels DIR...] APPLICATION -o OUT.xar
///   xar build --from-env ENV_PATH DISTRIBUTION... -o OUT.xar [--entry E]
///   (--wheels with --from-env: wheels first, the environment for what they do not provide)
///   xar build --raw DIR --exec RELPATH -o OUT.xar
/// All take the codec and layout options; a project's [tool.xar] table supplies defaults.
/// </summary>
internal static class BuildCommand
{
    private static readonly Option<string> Output = new("--output", "-o") { Description = "Archive to write.", Required = true };
    private static readonly Option<string?> Raw = new("--raw") { Description = "Pack this directory as it is (any directory with an executable)." };
    private static readonly Option<string?> Exec = new("--exec") { Description = "With --raw: the executable to run, relative to the directory." };
    private static readonly Option<string[]> Wheels = new("--wheels")
    {
        Description = "Wheels and directories of wheels to take the application and its dependencies from.",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<string?> Lock = new("--lock") { Description = "A PEP 751 lock file (pylock.toml): install its packages, from wheels found by path or in the --wheels directories, every hash checked." };
    private static readonly Option<string?> FromEnv = new("--from-env") { Description = "An installed environment (venv, site-packages, conda env, pyenv prefix) to take distributions from (with --wheels: what no wheel provides)." };
    private static readonly Argument<string[]> Inputs = new("INPUTS")
    {
        Description = "PROJECT_DIR; with --wheels, requirements; with --lock, the application's package; with --from-env, distribution names.",
        Arity = ArgumentArity.ZeroOrMore,
    };
    private static readonly Option<string?> Python = new("--python") { Description = "The target interpreter (default: the environment's own, else python3)." };
    private static readonly Option<string?> Entry = new("--entry") { Description = "Console script, script in bin/, module:function or module to run (default: the application's script)." };
    private static readonly Option<string?> Bytecode = new("--bytecode") { Description = "compiled (default): sources and pycs; none: sources only; only: pycs without sources." };
    private static readonly Option<bool> NoFollowImports = new("--no-follow-imports") { Description = "With --from-env: only warn about installed distributions the code imports but no requirement declares (default: include them)." };
    private static readonly Option<bool> InheritSite = new("--inherit-site") { Description = "Let the application see the host's site-packages and PYTHON* variables." };
    private static readonly Option<bool> Standalone = new("--standalone") { Description = "Carry the interpreter and its standard library in the archive: the host needs no Python." };
    private static readonly Option<bool> HostPython = new("--host-python") { Description = "Start the host's interpreter of the build's version, found by name at run time (the default)." };
    private static readonly Option<string?> Layout = new("--layout") { Description = "self (default): ./app.xar runs anywhere; xarexec: the original layout, needs xarexec on the host." };
    private static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "Print nothing on success: no progress, no summary, no result line." };
    private static readonly Option<bool> Json = new("--json") { Description = "Write the build's figures as one JSON document (docs/json-output.md) instead of the result line." };
    private static readonly Option<string?> Launcher = new("--launcher") { Description = $"The xarexec launcher for the self layout (default: ${LauncherLocator.EnvironmentVariable}, or the one installed with xar)." };
    private static readonly Option<string?> Target = new("--target") { Description = "The machine to build for: linux-x64 or linux-arm64 (default: this one's, or --platform's)." };
    private static readonly Option<string?> Platform = new("--platform") { Description = "Choose wheels and markers as on this platform (pip's --platform: manylinux2014_aarch64, manylinux_2_28_x86_64, linux_aarch64)." };
    private static readonly Option<string?> PythonVersion = new("--python-version") { Description = "The target's Python X.Y; the local pythonX.Y compiles the bytecode (default: the --python interpreter's)." };

    // pip's options, passed through to `pip wheel` for projects (and --find-links also searched for --wheels).
    private static readonly Option<string[]> IncludeLib = new("--include-lib")
    {
        Description = "Also bundle this library (a soname searched like ld.so does, or a path) and what it needs: for libraries loaded with dlopen. Repeatable.",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };
    private static readonly Option<string[]> AllowMissingLib = new("--allow-missing-lib")
    {
        Description = "A needed library (soname) the build host does not have and the target host provides: a warning instead of an error. Repeatable.",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };
    private static readonly Option<bool> NoBundleLibs = new("--no-bundle-libs") { Description = "Do not copy the native libraries that the image's ELF objects need into it (the target host must have them)." };
    private static readonly Option<bool> BundleLibs = new("--bundle-libs")
    {
        Description = "With --raw: copy the native libraries that the directory's ELF objects need into __xar__/lib (Python builds always do; --include-lib, --allow-missing-lib and --no-strip apply).",
    };
    private static readonly Option<bool> CompileAll = new("--compile-all")
    {
        Description = "Compile every module into the bytecode bundle (default: the application's own and what their imports reach; the rest ships as sources, compiled and cached per user when imported).",
    };
    private static readonly Option<bool> DebugRanges = new("--debug-ranges")
    {
        Description = "Keep the column positions of the compiled code (Python 3.11+: tracebacks underline the failing expression with ^^^; default: line numbers only, a 29 % smaller bundle).",
    };
    private static readonly Option<bool> NoStrip = new("--no-strip") { Description = "Keep the debugging sections and symbol tables of the interpreter and libraries copied into the image (default: dropped; extension modules of distributions are never changed)." };
    private static readonly Option<string[]> PipRequirement = PipOption("--requirement", "-r", "Also build these requirement files' packages (pip wheel -r); with --wheels, take them from the wheels, checking their --hash values.");
    private static readonly Option<string[]> PipConstraint = PipOption("--constraint", null, "Constrain versions with this file (pip wheel -c).");
    private static readonly Option<string[]> PipFindLinks = PipOption("--find-links", "-f", "Look for wheels and sources here (pip wheel -f).");
    private static readonly Option<string?> PipIndexUrl = new("--index-url", "-i") { Description = "Package index (pip wheel -i)." };
    private static readonly Option<bool> PipNoIndex = new("--no-index") { Description = "Use no package index, only --find-links (pip wheel --no-index)." };
    private static readonly Option<bool> PipRequireHashes = new("--require-hashes") { Description = "Require hashes for every requirement (pip wheel --require-hashes; with --wheels, checked by xar)." };

    private static Option<string[]> PipOption(string name, string? alias, string description)
    {
        var option = alias is null ? new Option<string[]>(name) : new Option<string[]>(name, alias);
        option.Description = description;
        option.Arity = ArgumentArity.OneOrMore;
        return option;
    }

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var codec = new CodecOptions();
        var command = new Command("build", "Build an archive from a Python project, wheels, an installed environment, or any directory.")
        {
            Inputs, Output, Raw, Exec, Wheels, Lock, FromEnv, NoFollowImports, Python, Entry, Bytecode, InheritSite, Standalone, HostPython, Layout, Launcher, Quiet, Json,
            Target, Platform, PythonVersion,
            IncludeLib, AllowMissingLib, NoBundleLibs, BundleLibs, NoStrip, CompileAll, DebugRanges,
            PipRequirement, PipConstraint, PipFindLinks, PipIndexUrl, PipNoIndex, PipRequireHashes,
        };
        codec.AddTo(command);
        command.SetAction(parse =>
        {
            var clock = Stopwatch.StartNew();
            var progress = new OperationProgress();
            bool quiet = parse.GetValue(Quiet);
            var display = ProgressDisplay.For(stderr, quiet);
            var (result, inputs) = display.Run(progress, stderr, warnings => Run(parse, codec, progress, warnings));
            var figures = new BuildFigures(result, inputs, progress, clock.Elapsed);
            // With -o /dev/stdout the archive is on stdout: the report goes to stderr.
            var report = OutputFile.IsStandardOutput(result.Path) ? stderr : stdout;
            if (parse.GetValue(Json))
                JsonReports.Write(report, JsonReports.Build(figures));
            else if (!quiet)
                report.WriteLine($"{result.Path}: {figures.ArchiveBytes:N0} bytes, {result.Layout.ToString().ToLowerInvariant()} layout, image sha256 {result.ImageSha256[..16]}…");
            display.Summary("xar build: summary", figures.Rows());
            return 0;
        });
        return command;
    }

    private static (XarWriteResult Result, string Inputs) Run(ParseResult parse, CodecOptions codec, OperationProgress progress, TextWriter stderr)
    {
        string output = parse.GetValue(Output)!;
        string[] inputs = parse.GetValue(Inputs) ?? [];
        // Checked first: otherwise a typo in -o shows only after pip and the compiler ran, naming the temporary file.
        string outputDirectory = Path.GetDirectoryName(Path.GetFullPath(output))!;
        if (!Directory.Exists(outputDirectory)) throw new IOException($"-o {output}: no such directory {outputDirectory}");
        void Warn(string message) => stderr.WriteLine($"xar: warning: {message}");

        if (parse.GetValue(Raw) is { } raw)
        {
            if (inputs.Length > 0) throw new ArgumentException($"--raw takes no other inputs (got {string.Join(' ', inputs)})");
            string exec = parse.GetValue(Exec) ?? throw new ArgumentException("--raw needs --exec RELPATH: the executable to run");
            if (parse.GetValue(Platform) is not null || parse.GetValue(PythonVersion) is not null)
                throw new ArgumentException("--platform and --python-version are for Python builds; --raw takes --target");
            RawLibraries? libraries = parse.GetValue(BundleLibs)
                ? new RawLibraries(!parse.GetValue(NoStrip), parse.GetValue(IncludeLib) ?? [], parse.GetValue(AllowMissingLib) ?? [],
                    message => stderr.WriteLine($"xar: {message}"), Warn)
                : null;
            var result = BuildRaw(raw, exec, output, LayoutOf(parse.GetValue(Layout)), parse.GetValue(Launcher), codec.Read(parse) with { Progress = progress, Warning = Warn },
                TargetOf(parse), libraries);
            return (result, $"directory {raw}");
        }
        if (parse.GetValue(Exec) is not null) throw new ArgumentException("--exec goes with --raw");
        if (parse.GetValue(BundleLibs)) throw new ArgumentException("--bundle-libs goes with --raw (Python builds bundle libraries unless --no-bundle-libs)");

        var settings = new Settings(parse, null);
        var platform = TargetOf(parse);
        string? platformTag = PlatformTagOf(parse, platform);
        string[]? wheels = parse.GetResult(Wheels) is null ? null : parse.GetValue(Wheels);
        string? environment = parse.GetValue(FromEnv);

        using var scratch = new ScratchDirectory();
        DistributionBundle bundle;
        InterpreterProbe probe;
        // The pycs the import scan makes as it parses (one parse per source), when there is bytecode to make,
        // and the sources it reached (what is compiled into the bundle), when it ran.
        CompiledSources? precompiled = null;
        IReadOnlySet<string>? reached = null;
        // What the scan and the compiler answered in earlier builds (XAR_BUILD_CACHE).
        var answers = ServerAnswerCache.FromEnvironment();
        if (parse.GetValue(Lock) is { } lockPath)
        {
            if (environment is not null) throw new ArgumentException($"--lock {lockPath} and --from-env exclude each other: the lock names every package");
            if (parse.GetValue(PipRequirement) is { Length: > 0 }) throw new ArgumentException($"--lock {lockPath} and --requirement exclude each other: the lock is the requirements");
            var (sources, names) = SplitWheelArguments(wheels ?? [], inputs);
            sources.AddRange(parse.GetValue(PipFindLinks) ?? []);
            if (sources.FirstOrDefault(s => !Directory.Exists(s)) is { } notDirectory)
                throw new ArgumentException($"--lock {lockPath}: {notDirectory} is not a directory; with a lock, --wheels and --find-links name directories to find the locked wheels in");
            if (names.Count != 1)
                throw new ArgumentException($"--lock {lockPath}: name the application to build, one package of the lock (xar build --lock {lockPath} APP -o APP.xar)");
            progress.Begin("resolving distributions");
            var lockFile = LockFile.Read(lockPath);
            probe = Probe(settings.Python, parse, platformTag);
            bundle = lockFile.Install(names[0].Name, TargetInterpreter.FromProbe(probe), sources);
        }
        else if (environment is not null && wheels is null)
        {
            if (inputs.Length == 0) throw new ArgumentException($"--from-env {environment}: name the distributions to take (e.g. flask)");
            if (inputs.FirstOrDefault(PythonProject.IsProjectDirectory) is { } projectDirectory)
                throw new ArgumentException($"--from-env {environment}: {projectDirectory} is a project directory, but --from-env takes the names of distributions installed there; "
                    + $"build the project's wheel (pip wheel --no-deps {projectDirectory}) and give it with --wheels WHEEL NAME --from-env {environment}");
            progress.Begin("reading the environment");
            var env = InstalledEnvironment.Open(environment);
            probe = Probe(settings.Python ?? env.Interpreter, parse, platformTag);
            var target = TargetInterpreter.FromProbe(probe);
            var requested = inputs.Select(Requirement.Parse).ToArray();
            progress.Begin("resolving distributions");
            bundle = WithImports(parse, env.Resolve(requested, target), requested, r => env.Resolve(r, target), env, probe, settings.Bytecode, answers, out precompiled, out reached, progress, stderr);
        }
        else if (wheels is not null)
        {
            var house = new Wheelhouse();
            var (sources, named) = SplitWheelArguments(wheels, inputs);
            foreach (string source in sources) house.Add(source);
            foreach (var link in parse.GetValue(PipFindLinks) ?? []) house.Add(link);
            // The command line's requirements, then the files': the application is the first (a file's when the command line names none).
            var hashed = new List<HashedRequirement>();
            bool requireHashes = parse.GetValue(PipRequireHashes);
            foreach (string file in parse.GetValue(PipRequirement) ?? [])
            {
                var requirementsFile = RequirementsFile.Read(file);
                hashed.AddRange(requirementsFile.Requirements);
                requireHashes |= requirementsFile.RequireHashes;
            }
            hashed.InsertRange(0, named.Select(r => new HashedRequirement(r, [], "the command line")));
            if (hashed.Count == 0)
                throw new ArgumentException("--wheels: name the application to build as a requirement (e.g. pygments), after the wheels, or give -r REQUIREMENTS.txt");
            bool checkHashes = RequirementsFile.CheckHashMode(hashed, requireHashes);
            if (checkHashes && environment is not null)
                throw new ArgumentException($"--from-env {environment}: installed distributions have no file whose hash could be checked; hash-checking mode takes everything from wheels");
            var requirements = hashed.Select(h => h.Requirement).ToList();
            // With --from-env too, the wheels come first and the environment provides the rest.
            progress.Begin("resolving distributions");
            var env = environment is null ? null : InstalledEnvironment.Open(environment);
            probe = Probe(settings.Python ?? env?.Interpreter, parse, platformTag);
            var target = TargetInterpreter.FromProbe(probe);
            bundle = house.Resolve(requirements, target, env);
            if (checkHashes)
            {
                try
                {
                    RequirementsFile.VerifyHashes(hashed, bundle);
                }
                catch
                {
                    bundle.Dispose();
                    throw;
                }
            }
            if (env is not null)
                bundle = WithImports(parse, bundle, requirements, r => house.Resolve(r, target, env), env, probe, settings.Bytecode, answers, out precompiled, out reached, progress, stderr);
        }
        else
        {
            if (inputs.Length != 1) throw new ArgumentException("xar build: give one PROJECT_DIR, or --wheels, --from-env or --raw (see xar build --help)");
            string interpreter = settings.Python ?? VersionedPython(parse) ?? "python3";
            var project = PythonProject.Read(inputs[0], interpreter);
            settings = new Settings(parse, project);
            probe = Probe(settings.Python ?? interpreter, parse, null);
            progress.Begin("building wheels (pip wheel)");
            project.BuildWheels(probe.Executable, scratch.Path, PipArguments(parse));
            progress.Begin("resolving distributions");
            if (platformTag is not null) probe = probe.ForPlatform(platformTag);
            var house = new Wheelhouse();
            house.Add(scratch.Path);
            bundle = house.Resolve([Requirement.Parse(project.Name)], TargetInterpreter.FromProbe(probe));
        }

        using (bundle)
        {
            foreach (var note in bundle.Notes) Warn(note);
            var root = bundle.Root ?? throw new PythonBuildException("no distribution to build: every requirement's marker excludes this interpreter");
            var application = new PythonApplication
            {
                Files = bundle.Entries,
                RootDistribution = root.Name,
                OwnFiles = bundle.Owners.Where(owner => owner.Value == root).Select(owner => owner.Key).ToHashSet(StringComparer.Ordinal),
                Scripts = [.. bundle.ConsoleScripts, .. bundle.GuiScripts],
                RequiresPython = bundle.RequiresPython?.ToString(),
            };
            var layout = LayoutOf(settings.Layout);
            var image = settings.Image(codec);
            using var launcher = layout == XarLayout.Self ? LauncherLocator.Open(parse.GetValue(Launcher), platform) : null;
            var result = PythonArchiveBuilder.Build(application, new PythonArchiveOptions
            {
                Platform = platform,
                Interpreter = probe,
                Entry = settings.Entry,
                Bytecode = settings.Bytecode,
                CompileAll = parse.GetValue(CompileAll),
                DebugRanges = parse.GetValue(DebugRanges),
                Reached = reached,
                Precompiled = precompiled,
                AnswerCache = answers,
                InheritSite = settings.InheritSite,
                Standalone = settings.Standalone,
                // Warnings through this command's writer: printed above the progress display.
                Image = image with { Progress = progress, Warning = Warn },
                BytecodeCompressionLevel = Settings.BytecodeLevel(image),
                Layout = layout,
                Launcher = launcher,
                Warning = Warn,
                Notice = message => stderr.WriteLine($"xar: {message}"),
                BundleLibraries = !parse.GetValue(NoBundleLibs),
                Strip = !parse.GetValue(NoStrip),
                IncludeLibraries = parse.GetValue(IncludeLib) ?? [],
                AllowMissingLibraries = parse.GetValue(AllowMissingLib) ?? [],
            }, output);
            return (result, $"{bundle.Distributions.Count:N0} distributions ({root})");
        }
    }

    /// <summary>
    /// The bundle completed with the installed distributions its code imports but no requirement
    /// declares (<see cref="ImportClosure"/>): one line each; with --no-follow-imports, warnings.
    /// With bytecode to make, <paramref name="precompiled"/> gets the pycs of the sources scanned;
    /// <paramref name="reached"/> gets their paths (null when the scanner did not start).
    /// </summary>
    private static DistributionBundle WithImports(ParseResult parse, DistributionBundle bundle, IReadOnlyList<Requirement> requested,
        Func<IReadOnlyList<Requirement>, DistributionBundle> resolve, InstalledEnvironment environment, InterpreterProbe probe, BytecodeMode bytecode,
        ServerAnswerCache? answers, out CompiledSources? precompiled, out IReadOnlySet<string>? reached, OperationProgress progress, TextWriter stderr)
    {
        progress.Begin("following imports");
        precompiled = bytecode == BytecodeMode.None ? null : new CompiledSources(probe.Executable, PythonArchiveBuilder.KeepsDebugRanges(parse.GetValue(DebugRanges), probe.Facts));
        reached = null;
        ImportScanner scanner;
        try
        {
            scanner = new ImportScanner(probe.Executable, compileInto: precompiled, cache: answers);
        }
        catch (PythonBuildException e)
        {
            precompiled = null;
            stderr.WriteLine($"xar: warning: {e.Message}; imports are not followed");
            return bundle;
        }
        using (scanner)
            return ImportClosure.Complete(bundle, requested, resolve, environment, scanner, new ImportClosureOptions
            {
                FollowImports = !parse.GetValue(NoFollowImports),
                Notice = message => stderr.WriteLine($"xar: {message}"),
                Warning = message => stderr.WriteLine($"xar: warning: {message}"),
            }, out reached);
    }

    /// <summary>
    /// --wheels takes several values, so "--wheels DIR NAME" hands it the requirement too: its
    /// first value and anything path-like are wheel sources, a bare name is a requirement even
    /// when a directory of that name happens to be in the current one, unless that directory
    /// holds wheels. The inputs are requirements.
    /// </summary>
    private static (List<string> Sources, List<Requirement> Requirements) SplitWheelArguments(string[] wheels, string[] inputs)
    {
        var sources = new List<string>();
        var requirements = new List<Requirement>();
        for (int i = 0; i < wheels.Length; i++)
        {
            if (i == 0 || IsWheelSource(wheels[i])) sources.Add(wheels[i]);
            else requirements.Add(Requirement.Parse(wheels[i]));
        }
        requirements.AddRange(inputs.Select(Requirement.Parse));
        return (sources, requirements);
    }

    // A direct reference ("name @ URL") is a requirement, whatever its URL looks like.
    private static bool IsWheelSource(string item) =>
        !item.Contains('@') && (item.Contains('/') || item.EndsWith(".whl", StringComparison.OrdinalIgnoreCase)
                                || (Directory.Exists(item) && Directory.EnumerateFiles(item, "*.whl").Any()));

    private static List<string> PipArguments(ParseResult parse)
    {
        var arguments = new List<string>();
        foreach (var file in parse.GetValue(PipRequirement) ?? []) arguments.AddRange(["--requirement", file]);
        foreach (var file in parse.GetValue(PipConstraint) ?? []) arguments.AddRange(["--constraint", file]);
        foreach (var link in parse.GetValue(PipFindLinks) ?? []) arguments.AddRange(["--find-links", link]);
        if (parse.GetValue(PipIndexUrl) is { } index) arguments.AddRange(["--index-url", index]);
        if (parse.GetValue(PipNoIndex)) arguments.Add("--no-index");
        if (parse.GetValue(PipRequireHashes)) arguments.Add("--require-hashes");
        return arguments;
    }

    /// <summary>--target, else --platform's machine, else this one.</summary>
    private static TargetPlatform TargetOf(ParseResult parse)
    {
        if (parse.GetValue(Target) is { } name)
            return TargetPlatform.Find(name) ?? throw new ArgumentException($"--target {name}: use {string.Join(" or ", TargetPlatform.All)}");
        if (parse.GetValue(Platform) is { } tag)
            return TargetPlatform.All.FirstOrDefault(t => tag.EndsWith("_" + t.Architecture, StringComparison.Ordinal))
                ?? throw new ArgumentException($"--platform {tag}: xar builds for {string.Join(" and ", TargetPlatform.All.Select(t => t.Architecture))} only");
        return TargetPlatform.Host;
    }

    /// <summary>
    /// The platform tag wheels are chosen for, or null for the interpreter's own: --platform (which
    /// must be for the target's machine), else manylinux2014 on the target's machine when it is
    /// not this one.
    /// </summary>
    private static string? PlatformTagOf(ParseResult parse, TargetPlatform platform)
    {
        if (parse.GetValue(Platform) is { } tag)
            return tag.EndsWith("_" + platform.Architecture, StringComparison.Ordinal)
                ? tag
                : throw new ArgumentException($"--platform {tag}: not for --target {platform} ({platform.Architecture})");
        return platform == TargetPlatform.Host ? null : $"manylinux2014_{platform.Architecture}";
    }

    /// <summary>pythonX.Y for --python-version X.Y (found on PATH), or null.</summary>
    private static string? VersionedPython(ParseResult parse) => parse.GetValue(PythonVersion) is { } version
        ? System.Text.RegularExpressions.Regex.IsMatch(version, "^[0-9]+\\.[0-9]+$") ? $"python{version}" : throw new ArgumentException($"--python-version {version}: give MAJOR.MINOR, e.g. 3.11")
        : null;

    /// <summary>
    /// Probes the local interpreter (<paramref name="python"/>, else pythonX.Y for --python-version,
    /// else python3), which must be of --python-version, and describes it as on
    /// <paramref name="platformTag"/> when one is given.
    /// </summary>
    private static InterpreterProbe Probe(string? python, ParseResult parse, string? platformTag)
    {
        string? versioned = VersionedPython(parse);
        var probe = InterpreterProbe.Run(python ?? versioned ?? "python3");
        if (versioned is not null && $"python{probe.Facts.MajorVersion}.{probe.Facts.MinorVersion}" != versioned)
            throw new ArgumentException($"--python-version {parse.GetValue(PythonVersion)}: {probe.PythonPath} is Python {probe.FullVersion}; pass --python with a {versioned}");
        return platformTag is null ? probe : probe.ForPlatform(platformTag);
    }

    private static XarLayout LayoutOf(string? layout) => layout switch
    {
        null or "self" => XarLayout.Self,
        "xarexec" => XarLayout.Xarexec,
        _ => throw new ArgumentException($"--layout {layout}: use self or xarexec"),
    };

    /// <summary>
    /// The block size of Python images unless one is given: a block compresses on its own, and
    /// 1 MiB ones (sources, the bytecode bundle, fragment blocks of small data files) make cfn-lint's
    /// image 5.5 % smaller than 128 KiB ones; a start decompresses no more CPU for it, as the bundle
    /// is read whole (docs/benchmarks.md, "Archive sizes").
    /// </summary>
    private const int PythonBlockSize = 1 << 20;

    /// <summary>
    /// The zstd level of Python images unless one is given, and of their bytecode bundle: level 15
    /// spent 56 % of cfn-lint's build CPU for 0.6 % less image than 12; the bundle, one large file
    /// every start reads whole, is 7.7 % smaller at 18, which more than pays back the rest's 12; 19
    /// saves only 0.2 % more (17.5 KB of cfn-lint's 7.5 MB) for 30 % more CPU (4.3 s)
    /// (docs/benchmarks.md, "Archive sizes"; docs/python-apps.md, "Compression").
    /// </summary>
    private const int PythonZstdLevel = 12, BytecodeZstdLevel = 18;

    /// <summary>Options given on the command line, else from the project's [tool.xar] table.</summary>
    private sealed class Settings(ParseResult parse, PythonProject? project)
    {
        public string? Python => Value(BuildCommand.Python, "python");
        public string? Entry => Value(BuildCommand.Entry, "entry");
        public string? Layout => Value(BuildCommand.Layout, "layout");
        /// <summary>--standalone or --host-python, else [tool.xar] standalone = true/false, else host-python.</summary>
        public bool Standalone
        {
            get
            {
                bool standalone = parse.GetValue(BuildCommand.Standalone), hostPython = parse.GetValue(BuildCommand.HostPython);
                if (standalone && hostPython) throw new ArgumentException("--standalone and --host-python exclude each other");
                return standalone || (!hostPython && project?.Settings.Boolean("standalone") == true);
            }
        }

        public bool InheritSite => parse.GetResult(BuildCommand.InheritSite) is not null ? parse.GetValue(BuildCommand.InheritSite) : project?.Settings.Boolean("inherit-site") == true;
        public BytecodeMode Bytecode => Value(BuildCommand.Bytecode, "bytecode") switch
        {
            null or "compiled" => BytecodeMode.Compiled,
            "none" => BytecodeMode.None,
            "only" => BytecodeMode.Only,
            var other => throw new ArgumentException($"--bytecode {other}: use compiled, none or only"),
        };

        public SquashFsWriterOptions Image(CodecOptions codec) => codec.Read(parse, project?.Settings, PythonBlockSize, PythonZstdLevel);

        /// <summary>The bundle's own level: <see cref="BytecodeZstdLevel"/> with the default codec and level, else the image's (null).</summary>
        public static int? BytecodeLevel(SquashFsWriterOptions image) =>
            image.Compression is { Algorithm: CompressionAlgorithm.Zstd, Level: PythonZstdLevel } ? BytecodeZstdLevel : null;

        private string? Value(Option<string?> option, string key) =>
            parse.GetResult(option) is not null ? parse.GetValue(option) : project?.Settings.String(key);
    }

    /// <summary>What <c>--raw --bundle-libs</c> asks of the library closure (<see cref="RawNativeLibraries"/>).</summary>
    public sealed record RawLibraries(bool Strip, IReadOnlyList<string> Include, IReadOnlyCollection<string> AllowMissing, Action<string>? Notice, Action<string>? Warning);

    /// <param name="libraries">Bundle the closure of the directory's ELF objects, or null (the default: the directory as it is).</param>
    public static XarWriteResult BuildRaw(string directory, string executable, string output, XarLayout layout, string? launcherPath, SquashFsWriterOptions options,
        TargetPlatform platform, RawLibraries? libraries = null)
    {
        if (!Directory.Exists(directory))
            throw new IOException($"{directory}: no such directory");
        string target = CheckExecutable(directory, executable);
        string targetPath = Path.Combine(directory, target);
        if (ElfObject.IsElf(targetPath))
            platform.Check(ElfObject.Read(targetPath), $"--exec {executable}");
        using var launcher = layout == XarLayout.Self ? LauncherLocator.Open(launcherPath, platform) : null;

        var writer = new SquashFsWriter(options);
        options.Progress?.Begin("reading the directory");
        writer.AddDirectory(directory);
        var header = new XarHeaderFields { Version = writer.ImageTime, XarexecTarget = target };
        string? libraryPath = null;
        if (libraries is not null)
        {
            options.Progress?.Begin("collecting native libraries");
            var closure = RawNativeLibraries.Collect(directory, target, platform, libraries.Strip, libraries.Include, libraries.AllowMissing, header.Version,
                libraries.Notice, libraries.Warning);
            foreach (var entry in closure.Entries)
                writer.Add(entry);
            libraryPath = closure.LibraryPath;
            if (libraryPath is not null)
                header.Extra[XarHeaderKeys.LibraryPath] = libraryPath;
            if (closure.RequiredGlibc is { } glibc)
                header.Extra[XarHeaderKeys.RequiresGlibc] = glibc;
        }
        if (layout == XarLayout.Xarexec)
        {
            // The original runtime runs XAREXEC_TARGET through /bin/sh with the archive as first argument; a wrapper makes it run the target as ours does.
            if (Path.Exists(Path.Combine(directory, OriginalRuntimeWrapper.Path)) || File.Exists(Path.Combine(directory, Path.GetDirectoryName(OriginalRuntimeWrapper.Path)!)))
                throw new ArgumentException($"--raw {directory}: {OriginalRuntimeWrapper.Path} is taken; the xarexec layout puts its wrapper for the original runtime there");
            writer.Add(ImageEntry.File(OriginalRuntimeWrapper.Path, FileContent.FromBytes(OriginalRuntimeWrapper.Script(target, libraryPath)), OriginalRuntimeWrapper.Permissions, header.Version));
            var wrapped = new XarHeaderFields { Version = header.Version, XarexecTarget = OriginalRuntimeWrapper.Path, Target = target };
            foreach (var (key, value) in header.Extra)
                wrapped.Extra[key] = value;
            header = wrapped;
        }
        header.Extra[XarHeaderKeys.Platform] = platform.RuntimeIdentifier;
        return XarArchiveWriter.Write(output, new XarWriteOptions { Header = header, Layout = layout, Launcher = launcher },
            image => writer.WriteTo(image));
    }

    /// <summary>The target must be a relative path to an executable regular file inside the directory.</summary>
    private static string CheckExecutable(string directory, string executable)
    {
        string relative = executable.Replace('\\', '/');
        while (relative.StartsWith("./", StringComparison.Ordinal)) relative = relative[2..].TrimStart('/');
        if (Path.IsPathRooted(executable) || relative.Split('/').Contains("..") || relative.Length == 0)
            throw new ArgumentException($"--exec {executable}: must be a path relative to {directory}, inside it");
        string full = Path.GetFullPath(Path.Combine(directory, relative));
        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
        {
            var resolved = info.ResolveLinkTarget(returnFinalTarget: true);
            if (resolved is null || !Path.GetFullPath(resolved.FullName).StartsWith(Path.GetFullPath(directory).TrimEnd('/') + "/", StringComparison.Ordinal))
                throw new ArgumentException($"--exec {executable}: a symlink that leads outside {directory}");
            info = new FileInfo(resolved.FullName);
        }
        if (!info.Exists)
            throw new IOException($"--exec {executable}: no such file in {directory}");
        if ((info.UnixFileMode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            throw new ArgumentException($"--exec {executable}: not executable (chmod +x it)");
        return relative;
    }

    /// <summary>A temporary directory for pip's wheels, removed afterwards, or when xar is interrupted.</summary>
    private sealed class ScratchDirectory : IDisposable
    {
        private string? _path;
        private IDisposable? _interruptCleanup;

        public string Path
        {
            get
            {
                if (_path is null)
                {
                    _path = Directory.CreateTempSubdirectory("xar-build-").FullName;
                    _interruptCleanup = InterruptCleanup.Register(Delete);
                }
                return _path;
            }
        }

        public void Dispose()
        {
            _interruptCleanup?.Dispose();
            Delete();
        }

        private void Delete()
        {
            if (_path is not null && Directory.Exists(_path)) Directory.Delete(_path, recursive: true);
        }
    }
}
