using System.Globalization;

namespace Xar.Runtime;

/// <summary>
/// What the environment asks of the run ladder: XAR_MODE, XAR_MOUNT_TIMEOUT (else the first
/// integer in /var/lib/xarexec_timeout_override, else 870 s, as in the original), XAR_FUSE_SERVER, XAR_MOUNT_SEED, XAR_DEBUG,
/// PATH, and the cache locations (XDG_CACHE_HOME, HOME, XDG_RUNTIME_DIR).
/// </summary>
public sealed record RuntimeSettings
{
    /// <summary>The original's idle timeout: 14.5 minutes, just under clean_xar_mounts' 15.</summary>
    public const int DefaultMountTimeoutSeconds = 870;

    /// <summary>The original's site-wide override of the idle timeout.</summary>
    public const string TimeoutOverrideFile = "/var/lib/xarexec_timeout_override";

    public RunMode Mode { get; init; } = RunMode.Auto;

    /// <summary>XAR_MOUNT_TIMEOUT in seconds, validated when the settings are read; null when it is not set.</summary>
    public int? MountTimeoutVariable { get; init; }

    /// <summary>
    /// The FUSE server's idle timeout in seconds; 0 keeps the mount until it is unmounted.
    /// XAR_MOUNT_TIMEOUT, else the override file, else <see cref="DefaultMountTimeoutSeconds"/>.
    /// The file is read here rather than with the environment: only a launch that mounts needs
    /// it, and warm launches and extractions should not pay for the file access.
    /// </summary>
    public int MountTimeoutSeconds => MountTimeoutVariable ?? ReadTimeoutOverride() ?? DefaultMountTimeoutSeconds;

    /// <summary>
    /// XAR_FUSE_SERVER: "auto" (our server, else squashfuse_ll when ours cannot mount), "xar" (only
    /// ours) or "squashfuse_ll" (only it).
    /// </summary>
    public string FuseServer { get; init; } = "auto";

    /// <summary>The executable run in FUSE server mode (<see cref="FuseServerMode"/>): the launcher itself.</summary>
    public string FuseServerProgram { get; init; } = "/proc/self/exe";

    /// <summary>XAR_MOUNT_SEED: replaces the pid-namespace/cgroup part of the mount directory name.</summary>
    public string? MountSeed { get; init; }

    /// <summary>The PATH searched for fusermount3 and squashfuse_ll.</summary>
    public string? SearchPath { get; init; }

    public string? XdgCacheHome { get; init; }

    public string? Home { get; init; }

    public string? XdgRuntimeDir { get; init; }

    /// <summary>How long a launch waits for another launch of the same archive to finish mounting.</summary>
    public TimeSpan MountLockTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The least time the FUSE server of a mount is given to answer the probe (open and statfs of
    /// its root, <see cref="MountProbe"/>) before the mount is taken for unresponsive; a busy host
    /// gets more. A server answers those in microseconds, a stopped one never.
    /// </summary>
    public TimeSpan MountProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>XAR_DEBUG (set and not "0"): <see cref="Note"/> writes what the mount rung decides on stderr.</summary>
    public bool Debug { get; init; }

    /// <summary>How long a launch waits for another launch of the same archive to finish extracting.</summary>
    public TimeSpan ExtractionLockTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Reads the settings from the process environment.</summary>
    /// <exception cref="XarRuntimeException">An XAR_* variable has a value that is not accepted (<see cref="XarExitCode.BadConfiguration"/>).</exception>
    public static RuntimeSettings FromEnvironment(string archivePath) => new()
    {
        Mode = ParseMode(Environment.GetEnvironmentVariable("XAR_MODE"), archivePath),
        MountTimeoutVariable = ReadMountTimeout(Environment.GetEnvironmentVariable("XAR_MOUNT_TIMEOUT"), archivePath),
        MountSeed = Environment.GetEnvironmentVariable("XAR_MOUNT_SEED"),
        FuseServer = ParseFuseServer(Environment.GetEnvironmentVariable("XAR_FUSE_SERVER"), archivePath),
        SearchPath = Environment.GetEnvironmentVariable("PATH"),
        XdgCacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME"),
        Home = Environment.GetEnvironmentVariable("HOME"),
        XdgRuntimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"),
        Debug = Environment.GetEnvironmentVariable("XAR_DEBUG") is { Length: > 0 } debug && debug != "0",
    };

    /// <summary>With <see cref="Debug"/>, one line on stderr: <c>xarexec: ARCHIVE: TEXT</c>.</summary>
    internal void Note(string archivePath, string text)
    {
        if (Debug)
            XarexecCommand.WriteOut(2, $"xarexec: {archivePath}: {text}\n");
    }

    internal static RunMode ParseMode(string? value, string archivePath) => value switch
    {
        null or "" or "auto" => RunMode.Auto,
        "mount" => RunMode.Mount,
        "extract" => RunMode.Extract,
        _ => throw new XarRuntimeException(XarExitCode.BadConfiguration, archivePath,
            $"XAR_MODE \"{value}\" is not one of auto, mount, extract"),
    };

    internal static string ParseFuseServer(string? value, string archivePath) => value switch
    {
        null or "" or "auto" => "auto",
        "xar" => "xar",
        "squashfuse_ll" => "squashfuse_ll",
        _ => throw new XarRuntimeException(XarExitCode.BadConfiguration, archivePath,
            $"XAR_FUSE_SERVER \"{value}\" is not one of auto, xar, squashfuse_ll"),
    };

    /// <summary>
    /// XAR_MOUNT_TIMEOUT as the original reads it, except that a value that is not a number is an
    /// error instead of silently meaning "never unmount" (docs/xar-format.md R15). Empty still means 0.
    /// Null when unset: <see cref="MountTimeoutSeconds"/> then consults the override file.
    /// </summary>
    internal static int? ReadMountTimeout(string? value, string archivePath)
    {
        if (value is null)
            return null;
        if (value.Length == 0)
            return 0;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds))
            throw new XarRuntimeException(XarExitCode.BadConfiguration, archivePath,
                $"XAR_MOUNT_TIMEOUT \"{value}\" is not a whole number of seconds (0 = never unmount)");
        return seconds;
    }

    /// <summary>The first run of digits in the override file, as the original reads it; null when the file is absent or has none.</summary>
    private static int? ReadTimeoutOverride()
    {
        string text;
        try
        {
            // No File.Exists first: a missing file is a FileNotFoundException (an IOException) below.
            text = File.ReadAllText(TimeoutOverrideFile);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        int start = 0;
        while (start < text.Length && !char.IsAsciiDigit(text[start]))
            start++;
        int end = start;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
            end++;
        return end > start && int.TryParse(text.AsSpan(start, end - start), NumberStyles.None, CultureInfo.InvariantCulture, out int seconds)
            ? seconds
            : null;
    }
}
