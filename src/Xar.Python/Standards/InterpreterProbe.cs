using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Xar.Python.Standards;

/// <summary>The target interpreter could not be run, failed, or printed something that is not the probe's answer.</summary>
public sealed class InterpreterProbeException(string pythonPath, string problem, Exception? inner = null)
    : Exception($"{pythonPath}: {problem}", inner)
{
    public string PythonPath { get; } = pythonPath;
}

/// <summary>
/// Runs a target interpreter once with a small script (interpreter_probe.py, for Python 2.7 and
/// 3.x) that prints, as JSON, its PEP 508 marker values and the facts its PEP 425 tags come from.
/// The interpreter runs isolated from the environment (<c>-E -s -S</c>), so neither PYTHONPATH nor
/// site-packages can change the answer.
/// </summary>
public sealed partial class InterpreterProbe
{
    private const string ScriptResource = "Xar.Python.Standards.interpreter_probe.py";

    private static readonly Lazy<string> Script = new(() =>
    {
        using var stream = typeof(InterpreterProbe).Assembly.GetManifestResourceStream(ScriptResource)
            ?? throw new InvalidOperationException($"The resource {ScriptResource} is missing from {typeof(InterpreterProbe).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    [GeneratedRegex("^([0-9]+)\\.([0-9]+)")]
    private static partial Regex GlibcVersionPattern();

    [GeneratedRegex("^Version ([0-9]+)\\.([0-9]+)")]
    private static partial Regex MuslVersionPattern();

    // pip's --platform values for Linux: manylinux1/2010/2014_ARCH, manylinux_X_Y_ARCH, linux_ARCH.
    [GeneratedRegex("^(?:manylinux(?<legacy>1|2010|2014)|manylinux_[0-9]+_[0-9]+|linux)_(?<arch>[a-z0-9_]+)$")]
    private static partial Regex LinuxPlatformPattern();

    private InterpreterProbe(string pythonPath, string executable, string fullVersion, MarkerEnvironment markers, InterpreterFacts facts, InterpreterInstallation installation)
    {
        Installation = installation;
        PythonPath = pythonPath;
        Executable = executable;
        FullVersion = fullVersion;
        Markers = markers;
        Facts = facts;
    }

    /// <summary>The interpreter as the caller named it.</summary>
    public string PythonPath { get; }

    /// <summary>The interpreter's <c>sys.executable</c>.</summary>
    public string Executable { get; }

    /// <summary>The interpreter's version: "3.11.7".</summary>
    public string FullVersion { get; }

    public MarkerEnvironment Markers { get; }

    public InterpreterFacts Facts { get; }

    /// <summary>Where the interpreter's own files are (what a standalone archive copies).</summary>
    public InterpreterInstallation Installation { get; }

    /// <summary>Runs <paramref name="pythonPath"/> (a path, or a name looked up on PATH) and parses its answer.</summary>
    public static InterpreterProbe Run(string pythonPath, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pythonPath);
        var start = new ProcessStartInfo(pythonPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // -E: no PYTHON* variables; -s: no user site-packages; -S: no site module at all.
        start.ArgumentList.Add("-E");
        start.ArgumentList.Add("-s");
        start.ArgumentList.Add("-S");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script.Value);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InterpreterProbeException(pythonPath, "the interpreter could not be started");
        }
        catch (Win32Exception e)
        {
            throw new InterpreterProbeException(pythonPath, $"cannot run the interpreter: {e.Message}", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(1)))
            {
                process.Kill(entireProcessTree: true);
                throw new InterpreterProbeException(pythonPath, "the interpreter did not answer in time");
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                string lastLine = stderr.Result.TrimEnd().Split('\n')[^1];
                throw new InterpreterProbeException(pythonPath, $"the interpreter exited with status {process.ExitCode}: {lastLine}");
            }
            return Parse(pythonPath, stdout.Result);
        }
    }

    /// <summary>
    /// This interpreter's version and implementation, on another platform (pip's <c>--platform</c>):
    /// an interpreter of the same version on a machine this one cannot run, whose wheels are chosen
    /// and whose markers are evaluated as there. <paramref name="platformTag"/> is a Linux platform
    /// tag: <c>manylinux2014_aarch64</c>, <c>manylinux_2_28_aarch64</c>, <c>linux_aarch64</c>; the
    /// wheels accepted are those pip accepts with the same <c>--platform</c> and
    /// <c>--python-version</c>: that tag only, but for manylinux2014 and manylinux2010 on x86, which
    /// also admit the older legacy tags (pip's _custom_manylinux_platforms). The probed executable
    /// stays: it compiles the bytecode, which depends on the version only.
    /// </summary>
    /// <exception cref="ArgumentException">Not such a tag.</exception>
    public InterpreterProbe ForPlatform(string platformTag)
    {
        ArgumentException.ThrowIfNullOrEmpty(platformTag);
        var match = LinuxPlatformPattern().Match(platformTag);
        if (!match.Success)
            throw new ArgumentException($"--platform {platformTag}: not a Linux platform tag (manylinux2014_aarch64, manylinux_2_28_x86_64, linux_aarch64)");
        string architecture = match.Groups["arch"].Value;
        var platforms = new List<string> { platformTag };
        string legacy = match.Groups["legacy"].Value;
        if ((legacy == "2014" && architecture is "x86_64" or "i686") || legacy == "2010")
        {
            if (legacy == "2014") platforms.Add("manylinux2010_" + architecture);
            platforms.Add("manylinux1_" + architecture);
        }
        var facts = Facts with
        {
            Platform = "linux-" + architecture,
            OperatingSystem = "Linux",
            Executable = null,
            PlatformTags = platforms,
        };
        var markers = Markers with { PlatformMachine = architecture, SysPlatform = "linux", PlatformSystem = "Linux", OsName = "posix" };
        return new InterpreterProbe($"{PythonPath} as on {platformTag}", Executable, FullVersion, markers, facts, Installation);
    }

    /// <summary>Reads the probe script's JSON answer.</summary>
    internal static InterpreterProbe Parse(string pythonPath, string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var markers = document.RootElement.GetProperty("markers");
            var interpreter = document.RootElement.GetProperty("interpreter");
            var version = interpreter.GetProperty("version");

            string pythonFullVersion = markers.GetProperty("python_full_version").GetString()!;
            // A development build reports "3.13.0+", which is not a PEP 440 version; packaging
            // makes it a local version so that version comparisons still work.
            if (pythonFullVersion.EndsWith('+')) pythonFullVersion += "local";

            var environment = new MarkerEnvironment
            {
                OsName = Text(markers, "os_name"),
                SysPlatform = Text(markers, "sys_platform"),
                PlatformMachine = Text(markers, "platform_machine"),
                PlatformPythonImplementation = Text(markers, "platform_python_implementation"),
                PlatformRelease = Text(markers, "platform_release"),
                PlatformSystem = Text(markers, "platform_system"),
                PlatformVersion = Text(markers, "platform_version"),
                PythonVersion = Text(markers, "python_version"),
                PythonFullVersion = pythonFullVersion,
                ImplementationName = Text(markers, "implementation_name"),
                ImplementationVersion = Text(markers, "implementation_version"),
            };

            var elf = interpreter.GetProperty("elf");
            var facts = new InterpreterFacts
            {
                Implementation = Text(interpreter, "implementation"),
                MajorVersion = version[0].GetInt32(),
                MinorVersion = version[1].GetInt32(),
                Debug = interpreter.GetProperty("debug").GetBoolean(),
                Pymalloc = interpreter.GetProperty("pymalloc").GetBoolean(),
                WideUnicode = interpreter.GetProperty("wide_unicode").GetBoolean(),
                FreeThreaded = interpreter.GetProperty("free_threaded").GetBoolean(),
                ExtensionSuffix = interpreter.GetProperty("ext_suffix").GetString(),
                Platform = Text(interpreter, "platform"),
                OperatingSystem = Text(interpreter, "system"),
                Is32Bit = interpreter.GetProperty("pointer_bits").GetInt32() == 32,
                Glibc = ParseGlibcVersion(interpreter.GetProperty("glibc").GetString()),
                Musl = ParseMuslVersion(interpreter.GetProperty("musl_loader_output").GetString()),
                Executable = elf.ValueKind == JsonValueKind.Null
                    ? null
                    : new ElfHeaderFacts(
                        Is64Bit: elf.GetProperty("class").GetInt32() == 2,
                        IsLittleEndian: elf.GetProperty("little_endian").GetBoolean(),
                        Machine: elf.GetProperty("machine").GetInt32(),
                        Flags: elf.GetProperty("flags").GetUInt32(),
                        ProgramInterpreter: elf.GetProperty("interpreter").GetString()),
            };

            var installed = document.RootElement.GetProperty("installation");
            var installation = new InterpreterInstallation(
                Text(installed, "executable"), Text(installed, "stdlib"), installed.GetProperty("dynload").GetString(),
                installed.GetProperty("libpython").GetString(), Text(installed, "platlibdir"));

            string fullVersion = string.Join('.', version.EnumerateArray().Select(v => v.GetInt32().ToString(CultureInfo.InvariantCulture)));
            return new InterpreterProbe(pythonPath, Text(interpreter, "executable"), fullVersion, environment, facts, installation);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException)
        {
            string excerpt = json.Length > 200 ? json[..200] + "…" : json;
            throw new InterpreterProbeException(pythonPath, $"unexpected answer from the interpreter probe ({e.Message}): {excerpt}", e);
        }
    }

    /// <summary>The major and minor numbers at the start of a glibc version ("2.36", "2.28-xyz"), or null.</summary>
    internal static LibcVersion? ParseGlibcVersion(string? version)
    {
        var match = version is null ? null : GlibcVersionPattern().Match(version);
        return match is { Success: true } ? new LibcVersion(Number(match.Groups[1].Value), Number(match.Groups[2].Value)) : null;
    }

    /// <summary>
    /// The version a musl loader prints when run without arguments: the first non-blank line starts
    /// with "musl", the second is "Version 1.2.4".
    /// </summary>
    internal static LibcVersion? ParseMuslVersion(string? loaderOutput)
    {
        if (loaderOutput is null) return null;
        string[] lines = loaderOutput.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0).ToArray();
        if (lines.Length < 2 || !lines[0].StartsWith("musl", StringComparison.Ordinal)) return null;
        var match = MuslVersionPattern().Match(lines[1]);
        return match.Success ? new LibcVersion(Number(match.Groups[1].Value), Number(match.Groups[2].Value)) : null;
    }

    private static int Number(string digits) => int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);

    private static string Text(JsonElement element, string name) =>
        element.GetProperty(name).GetString() ?? throw new InvalidOperationException($"'{name}' is null");
}
