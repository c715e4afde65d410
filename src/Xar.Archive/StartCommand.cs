using System.Globalization;
using System.Text;

namespace Xar.Archive;

/// <summary>
/// How to start an archive's target when that is not simply XAREXEC_TARGET: a program found at
/// run time, an argv template and variables to set. The builder that knows the target (Xar.Python
/// for a Python archive) writes it into the header (<see cref="XarHeaderKeys.StartProgram"/> and
/// its siblings) and into the script the original runtime runs (<see cref="ShellScript"/>); the
/// launcher executes it without knowing what the target is (docs/launcher.md §3.2, docs/xar-layout.md §2.3).
/// </summary>
/// <remarks>
/// Words in <see cref="Programs"/>, <see cref="Arguments"/> and <see cref="Environment"/> may
/// name the tree's root (the mount or extraction directory) as <see cref="Root"/>. In the header
/// each list is one value: its words separated by one space, with a space, '%' and what a header
/// value may not hold written as '%' and two hex digits (<c>import%20sys</c>).
/// </remarks>
public sealed record StartCommand
{
    /// <summary>Stands for the tree's root (the directory the image is mounted or extracted at).</summary>
    public const string Root = "{root}";

    /// <summary>
    /// The candidates, tried in order; the first that is there runs. <c>{root}/PATH</c> is a file of
    /// the image (symlinks resolved inside it); <c>/PATH</c> a file of the host; a bare name is looked
    /// up in each directory of <c>PATH</c>.
    /// </summary>
    public required IReadOnlyList<string> Programs { get; init; }

    /// <summary>argv after argv[0] (the program as found); the caller's arguments follow.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Variables set for the target, <c>NAME=value</c>.</summary>
    public IReadOnlyList<string> Environment { get; init; } = [];

    /// <summary>
    /// Image directories put in front of LD_LIBRARY_PATH for the target (XAR_LIBRARY_PATH, which the
    /// launcher reads for any archive; docs/python-apps.md §7), relative to the image root.
    /// </summary>
    public IReadOnlyList<string> LibraryPath { get; init; } = [];

    /// <summary>What the archive needs, for the message when no candidate is there (e.g. <c>cpython-3.11 (cp311)</c>).</summary>
    public string? Needs { get; init; }

    /// <summary><paramref name="relativePath"/> inside the tree, as a candidate or in a word.</summary>
    public static string InImage(string relativePath) => Root + "/" + relativePath;

    /// <summary>The image-relative path of a candidate that names a file of the image, else null.</summary>
    public static string? ImagePath(string candidate) =>
        candidate.StartsWith(Root + "/", StringComparison.Ordinal) ? candidate[(Root.Length + 1)..] : null;

    /// <summary><paramref name="word"/> with <see cref="Root"/> replaced by <paramref name="rootDirectory"/>.</summary>
    public static string Expand(string word, string rootDirectory) =>
        word.Contains(Root, StringComparison.Ordinal) ? word.Replace(Root, rootDirectory, StringComparison.Ordinal) : word;

    /// <summary>Adds the start command's lines to <paramref name="header"/>.</summary>
    public void WriteTo(XarHeaderFields header)
    {
        if (Programs.Count == 0)
            throw new ArgumentException("a start command needs at least one program");
        foreach (string variable in Environment)
        {
            if (variable.IndexOf('=') <= 0)
                throw new ArgumentException($"start environment \"{variable}\" is not NAME=value");
        }
        header.Extra[XarHeaderKeys.StartProgram] = JoinWords(Programs);
        if (Arguments.Count > 0)
            header.Extra[XarHeaderKeys.StartArguments] = JoinWords(Arguments);
        if (Environment.Count > 0)
            header.Extra[XarHeaderKeys.StartEnvironment] = JoinWords(Environment);
        if (Needs is not null)
            header.Extra[XarHeaderKeys.StartNeeds] = Needs;
        if (LibraryPath.Count > 0)
            header.Extra[XarHeaderKeys.LibraryPath] = string.Join(':', LibraryPath);
    }

    /// <summary>
    /// The start command of <paramref name="header"/>: its XAR_START_* lines; for a Python archive
    /// of an earlier builder (XAR_PYTHON without XAR_START_PROGRAM), the command it implied; null
    /// when the archive runs XAREXEC_TARGET (or XAR_TARGET) itself.
    /// </summary>
    /// <exception cref="XarFormatException">A start line or XAR_PYTHON is malformed.</exception>
    public static StartCommand? FromHeader(XarHeader header, string archivePath)
    {
        string? programs = header[XarHeaderKeys.StartProgram];
        if (programs is null)
            return header[XarHeaderKeys.Python] is { } python ? FromPythonHeader(header, python, archivePath) : null;
        var command = new StartCommand
        {
            Programs = SplitWords(programs, XarHeaderKeys.StartProgram, archivePath),
            Arguments = header[XarHeaderKeys.StartArguments] is { } arguments ? SplitWords(arguments, XarHeaderKeys.StartArguments, archivePath) : [],
            Environment = header[XarHeaderKeys.StartEnvironment] is { } environment ? SplitWords(environment, XarHeaderKeys.StartEnvironment, archivePath) : [],
            Needs = header[XarHeaderKeys.StartNeeds],
        };
        if (command.Programs.Count == 0)
            throw new XarFormatException(archivePath, $"{XarHeaderKeys.StartProgram} names no program");
        foreach (string program in command.Programs)
        {
            if (ImagePath(program) is { } inImage && !ImagePaths.IsInside(inImage))
                throw new XarFormatException(archivePath, $"{XarHeaderKeys.StartProgram} \"{program}\" {ImagePaths.NotInside}");
        }
        foreach (string variable in command.Environment)
        {
            if (variable.IndexOf('=') <= 0)
                throw new XarFormatException(archivePath, $"{XarHeaderKeys.StartEnvironment} \"{variable}\" is not NAME=value");
        }
        return command;
    }

    /// <summary>
    /// What a Python archive of an earlier builder (XAR_PYTHON, XAR_PYTHON_INTERPRETER,
    /// XAR_PYTHON_INHERIT_SITE) meant: the recorded interpreter — after the <c>pythonX.Y</c> beside it
    /// when its name does not say the version (<c>/usr/bin/python3</c>, which may be another version
    /// now) — then <c>pythonX.Y</c> on PATH, running the bootstrap as <see cref="PythonLaunch"/> says.
    /// The one place that knows these keys.
    /// </summary>
    private static StartCommand FromPythonHeader(XarHeader header, string python, string archivePath)
    {
        int dash = python.LastIndexOf('-');
        string[] parts = python[(dash + 1)..].Split('.');
        if (dash <= 0 || parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
            throw new XarFormatException(archivePath, $"XAR_PYTHON \"{python}\" is not IMPLEMENTATION-MAJOR.MINOR (e.g. cpython-3.11)");
        string versionedName = $"python{major.ToString(CultureInfo.InvariantCulture)}.{minor.ToString(CultureInfo.InvariantCulture)}";

        var programs = new List<string>(3);
        if (header[XarHeaderKeys.PythonInterpreter] is { } built)
        {
            int slash = built.LastIndexOf('/');
            if (slash >= 0 && built[(slash + 1)..] != versionedName)
                programs.Add(built[..(slash + 1)] + versionedName);
            programs.Add(built);
        }
        programs.Add(versionedName);
        return new StartCommand
        {
            Programs = programs,
            Arguments = [.. PythonLaunch.IsolationFlags(major, inheritSite: header[XarHeaderKeys.PythonInheritSite] == "1"), "-c", PythonLaunch.BootCommand],
            Needs = header[XarHeaderKeys.PythonAbi] is { } abi ? $"{python} ({abi})" : python,
        };
    }

    /// <summary>
    /// The <c>/bin/sh</c> script at <paramref name="scriptPath"/> (relative to the image root) that the
    /// original runtime runs as <c>/bin/sh -e SCRIPT ARCHIVE ARGS…</c>: it sets XAR_MOUNT and
    /// XAR_INVOKED_NAME as our launcher does, then runs this command the same way. With
    /// <paramref name="requiredGlibc"/> (the archive's XAR_REQUIRES_GLIBC, which the original runtime
    /// does not know) it first refuses a host whose glibc is older, as our launcher does.
    /// </summary>
    public string ShellScript(string scriptPath, string? requiredGlibc = null)
    {
        if (requiredGlibc is not null && Elf.GlibcVersion.Parse(requiredGlibc) is null)
            throw new ArgumentException($"\"{requiredGlibc}\" is not a glibc version such as 2.34", nameof(requiredGlibc));
        int depth = scriptPath.Count(c => c == '/');
        string up = depth == 0 ? "." : string.Join('/', Enumerable.Repeat("..", depth));
        var script = new StringBuilder();
        script.Append("#!/bin/sh\n");
        script.Append($"# What the ORIGINAL xarexec_fuse runs: /bin/sh -e <mount>/{scriptPath} <archive> ARGS...\n");
        script.Append("# The xar launcher runs the same command from the header (XAR_START_*) and never runs this file.\n");
        script.Append($"XAR_MOUNT=$(CDPATH= cd -- \"${{0%/*}}/{up}\" && pwd) || exit 127\n");
        script.Append("XAR_INVOKED_NAME=$1\nshift\nexport XAR_MOUNT XAR_INVOKED_NAME\n");
        if (requiredGlibc is not null)
            script.Append(GlibcCheck(requiredGlibc));
        foreach (string variable in Environment)
        {
            int equals = variable.IndexOf('=');
            script.Append($"{variable[..equals]}={ShellWord(variable[(equals + 1)..])}; export {variable[..equals]}\n");
        }
        if (LibraryPath.Count > 0)
        {
            // As the launcher does: the image's libraries in front, the host's value kept for the bootstrap to restore.
            script.Append("if [ \"${LD_LIBRARY_PATH+set}\" = set ]; then XAR_HOST_LD_LIBRARY_PATH=$LD_LIBRARY_PATH; export XAR_HOST_LD_LIBRARY_PATH; else unset XAR_HOST_LD_LIBRARY_PATH; fi\n");
            string directories = string.Join(':', LibraryPath.Select(d => ShellWord(InImage(d))));
            script.Append($"LD_LIBRARY_PATH={directories}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}; export LD_LIBRARY_PATH\n");
        }
        script.Append($"for program in {string.Join(' ', Programs.Select(ShellWord))}; do\n");
        script.Append("  if command -v \"$program\" >/dev/null 2>&1; then\n");
        script.Append($"    exec \"$program\"{string.Concat(Arguments.Select(a => " " + ShellWord(a)))} \"$@\"\n");
        script.Append("  fi\ndone\n");
        script.Append($"echo \"$XAR_INVOKED_NAME: \"{ShellWord($"needs {Needs ?? "its program"}; tried {string.Join(", ", Programs)}")} >&2\nexit 127\n");
        return script.ToString();
    }

    /// <summary>
    /// Exit 68 with our launcher's line (HostLibraries) when the host's glibc (<c>getconf
    /// GNU_LIBC_VERSION</c>: "glibc 2.36") is older than <paramref name="required"/>, compared part by
    /// part as numbers, a missing part being 0. As in the launcher, a host version that is not two to
    /// four decimal numbers of at most nine digits (another libc, no getconf) is not held against the
    /// archive. Portable sh: no arithmetic beyond <c>[ -lt ]</c>, no bash-isms.
    /// </summary>
    private static string GlibcCheck(string required) =>
        "xar_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null) || xar_glibc=\n" +
        "xar_glibc=${xar_glibc#glibc }\n" +
        "case $xar_glibc in\n" +
        "  '' | *[!0-9.]* | .* | *. | *..* | *.*.*.*.* | *[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*) ;;\n" +
        "  *.*)\n" +
        $"    xar_have=$xar_glibc. xar_need={required}.\n" +
        "    while [ -n \"$xar_have$xar_need\" ]; do\n" +
        "      xar_h=${xar_have%%.*}; xar_n=${xar_need%%.*}\n" +
        "      if [ \"${xar_h:-0}\" -gt \"${xar_n:-0}\" ]; then break; fi\n" +
        "      if [ \"${xar_h:-0}\" -lt \"${xar_n:-0}\" ]; then\n" +
        $"        echo \"$XAR_INVOKED_NAME: needs glibc {required} or newer ({XarHeaderKeys.RequiresGlibc}), this host has glibc $xar_glibc\" >&2\n" +
        "        exit 68\n" +
        "      fi\n" +
        "      xar_have=${xar_have#*.}; xar_need=${xar_need#*.}\n" +
        "    done ;;\n" +
        "esac\n";

    /// <summary>A single-quoted word, with <see cref="Root"/> left to the shell as <c>$XAR_MOUNT</c>.</summary>
    private static string ShellWord(string word) =>
        "'" + word.Replace("'", "'\\''").Replace(Root, "'\"$XAR_MOUNT\"'", StringComparison.Ordinal) + "'";

    /// <summary>
    /// Words separated by one space. A space, '%', and what a header value may not hold ('"', '$',
    /// '`', '\', control characters) are written as '%' and two hex digits.
    /// </summary>
    internal static string JoinWords(IEnumerable<string> words) =>
        string.Join(' ', words.Select(word =>
        {
            if (word.Length == 0)
                throw new ArgumentException("a start command's word is empty");
            var escaped = new StringBuilder(word.Length);
            foreach (char c in word)
            {
                if (c is ' ' or '%' or '"' or '$' or '`' or '\\' or < ' ' or '\x7f')
                    escaped.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                else
                    escaped.Append(c);
            }
            return escaped.ToString();
        }));

    /// <exception cref="XarFormatException">A '%' not followed by two hex digits, or an empty word.</exception>
    internal static List<string> SplitWords(string value, string key, string archivePath)
    {
        var words = new List<string>();
        foreach (string escaped in value.Split(' '))
        {
            if (escaped.Length == 0)
                throw new XarFormatException(archivePath, $"{key}: an empty word (words are separated by one space)");
            var word = new StringBuilder(escaped.Length);
            for (int i = 0; i < escaped.Length; i++)
            {
                if (escaped[i] != '%')
                {
                    word.Append(escaped[i]);
                    continue;
                }
                if (i + 2 >= escaped.Length
                    || !byte.TryParse(escaped.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte code))
                    throw new XarFormatException(archivePath, $"{key}: '%' in \"{escaped}\" is not followed by two hex digits");
                word.Append((char)code);
                i += 2;
            }
            words.Add(word.ToString());
        }
        return words;
    }
}
