using System.Text;

namespace Xar.Archive;

/// <summary>
/// What a caller chooses for the header of a new archive. The writer adds OFFSET, XAR_FORMAT and
/// XAR_IMAGE_SHA256 itself, and the UUID unless one is given here. Lines are written in the
/// original builder's order — OFFSET, UUID, VERSION, DEPENDENCIES, MOUNT_ROOT, XAREXEC_TARGET —
/// then XAR_FORMAT, XAR_IMAGE_SHA256 and <see cref="Extra"/> in insertion order.
/// </summary>
public sealed class XarHeaderFields
{
    /// <summary>The original default: the kernel runs <c>/usr/bin/env xarexec_fuse ./app.xar args…</c>.</summary>
    public const string DefaultShebang = "#!/usr/bin/env xarexec_fuse";

    /// <summary>The original builder's first line for archives that have no XAREXEC_TARGET.</summary>
    public const string NonExecutableShebang = "#!/bin/echo This is not an executable XAR file.";

    /// <summary>Linux reads at most this many bytes of a <c>#!</c> line (BINPRM_BUF_SIZE; the original's MAX_SHEBANG).</summary>
    public const int MaxShebangBytes = 128;

    /// <summary>The first line. In the self layout the kernel never sees it; it is written anyway so the header is the original's.</summary>
    public string Shebang { get; init; } = DefaultShebang;

    /// <summary>
    /// Eight lowercase hex digits, the original's UUID format. Null (the default) derives it from
    /// the first eight hex digits of the image SHA-256 instead of the original's build timestamp
    /// (the time_low field of a uuid1): the same image then gets the same UUID on every build, and
    /// the original runtime, which names its mount after the UUID, shares a mount only between
    /// archives with identical images.
    /// </summary>
    public string? Uuid { get; init; }

    /// <summary>Written as a decimal integer; the original builder writes the Unix time of the build.</summary>
    public required long Version { get; init; }

    /// <summary>Basenames of dependent XAR files. The original builder always writes the line, empty when there are none.</summary>
    public IReadOnlyList<string> Dependencies { get; init; } = [];

    /// <summary>Absolute directory (mode 01777) the original runtime mounts under; omitted when null.</summary>
    public string? MountRoot { get; init; }

    /// <summary>Path, relative to the image root, of the <c>/bin/sh</c> script the original runtime executes; omitted when null.</summary>
    public string? XarexecTarget { get; init; }

    /// <summary>
    /// Path, relative to the image root, of what our launcher executes instead of
    /// <see cref="XarexecTarget"/> (<see cref="XarHeaderKeys.Target"/>); omitted when null.
    /// </summary>
    public string? Target { get; init; }

    /// <summary>
    /// Further KEY="value" lines, in insertion order, for facts of our own such as
    /// <see cref="XarHeaderKeys.RequiresPython"/>. Every original reader ignores keys it does not know.
    /// </summary>
    public OrderedDictionary<string, string> Extra { get; } = new(StringComparer.Ordinal);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field the original readers, or <c>sh</c>, would misread.</summary>
    public void Validate()
    {
        ValidateShebang(Shebang);
        if (Uuid is not null && !IsOriginalUuid(Uuid))
            throw new ArgumentException($"UUID \"{Uuid}\" is not 8 lowercase hex digits, the format the original builder writes", nameof(Uuid));
        if (Version < 0)
            throw new ArgumentException($"VERSION {Version} is negative", nameof(Version));
        foreach (string dependency in Dependencies)
        {
            if (dependency.Length == 0 || dependency.Contains(' ') || dependency.Contains('/'))
                throw new ArgumentException($"DEPENDENCIES entry \"{dependency}\" is not a file basename (empty, or contains a space or '/')", nameof(Dependencies));
            ValidateValue(XarHeaderKeys.Dependencies, dependency);
        }
        if (MountRoot is not null)
        {
            ValidateValue(XarHeaderKeys.MountRoot, MountRoot);
            if (!MountRoot.StartsWith('/'))
                throw new ArgumentException($"MOUNT_ROOT \"{MountRoot}\" is not an absolute path", nameof(MountRoot));
        }
        // The original runtime joins XAREXEC_TARGET to the mount directory unchecked (docs/xar-format.md R13).
        if (XarexecTarget is not null)
            ValidateImagePath(XarHeaderKeys.XarexecTarget, XarexecTarget, nameof(XarexecTarget));
        if (Target is not null)
            ValidateImagePath(XarHeaderKeys.Target, Target, nameof(Target));
        foreach (var (key, value) in Extra)
        {
            ValidateKey(key);
            if (XarHeaderKeys.IsWrittenByWriter(key))
                throw new ArgumentException($"extra key {key} is written by the archive writer itself", nameof(Extra));
            ValidateValue(key, value);
            if (key == XarHeaderKeys.XarexecTrampolineNames)
                ValidateTrampolineNames(value);
        }
    }

    private static void ValidateImagePath(string key, string path, string parameter)
    {
        ValidateValue(key, path);
        if (!ImagePaths.IsInside(path))
            throw new ArgumentException($"{key} \"{path}\" {ImagePaths.NotInside}", parameter);
    }

    private static bool IsOriginalUuid(string uuid) => uuid.Length == 8 && uuid.All(char.IsAsciiHexDigitLower);

    private static void ValidateShebang(string shebang)
    {
        if (!shebang.StartsWith("#!", StringComparison.Ordinal))
            throw new ArgumentException($"shebang \"{shebang}\" does not start with #!", nameof(Shebang));
        if (Encoding.UTF8.GetByteCount(shebang) > MaxShebangBytes)
            throw new ArgumentException($"shebang is longer than the {MaxShebangBytes} bytes Linux reads of a #! line", nameof(Shebang));
        if (shebang.Any(char.IsControl))
            throw new ArgumentException("shebang contains a control character", nameof(Shebang));
    }

    /// <summary>A shell variable name, so that <c>sh app.xar</c> still reaches its <c>exit 1</c> quietly.</summary>
    private static void ValidateKey(string key)
    {
        bool valid = key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_')
            && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        if (!valid)
            throw new ArgumentException($"header key \"{key}\" is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)", nameof(Extra));
    }

    /// <summary>
    /// The original replaced '"' by a space and wrote everything else raw (docs/xar-format.md P23). We
    /// refuse instead: '"' fails the original XarParser, a newline breaks the line format, and
    /// '$', '`' and '\' would be expanded by <c>sh</c>, which reads the header as a script.
    /// </summary>
    private static void ValidateValue(string key, string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsControl(c) || c is '"' or '$' or '`' or '\\')
                throw new ArgumentException(
                    $"value of {key} contains {Describe(c)} at index {i}; header values must not contain control characters, '\"', '$', '`' or '\\'",
                    nameof(Extra));
        }
    }

    private static string Describe(char c) => char.IsControl(c) ? $"control character U+{(int)c:X4}" : $"'{c}'";

    /// <summary>The original XarParser's rules for this key, so that it accepts our archives too.</summary>
    private static void ValidateTrampolineNames(string value)
    {
        const string Required = "invoke_xar_via_trampoline";
        if (value.Length <= 2 || value[0] != '\'' || value[^1] != '\'')
            throw new ArgumentException($"{XarHeaderKeys.XarexecTrampolineNames} must be single-quoted names separated by one space", nameof(Extra));
        string[] names = value[1..^1].Split("' '");
        if (names.Any(name => name.Contains('\'')))
            throw new ArgumentException($"{XarHeaderKeys.XarexecTrampolineNames}: names must be separated by exactly one space and contain no quotes", nameof(Extra));
        if (!names.Contains(Required))
            throw new ArgumentException($"{XarHeaderKeys.XarexecTrampolineNames} must include '{Required}'", nameof(Extra));
    }
}
