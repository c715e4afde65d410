namespace Xar.Archive;

/// <summary>Names of the header keys this library knows (docs/xar-format.md §5 and docs/xar-layout.md).</summary>
public static class XarHeaderKeys
{
    /// <summary>Decimal byte offset of the SquashFS image in the file; a positive multiple of 4096.</summary>
    public const string Offset = "OFFSET";

    /// <summary>Hexadecimal mount identity; the original runtime names its mount directory after it.</summary>
    public const string Uuid = "UUID";

    /// <summary>Decimal build version; the original builder writes the Unix time of the build.</summary>
    public const string Version = "VERSION";

    /// <summary>Space-separated basenames of dependent XAR files; written (often empty), never read by the original runtime.</summary>
    public const string Dependencies = "DEPENDENCIES";

    /// <summary>Absolute directory (mode 01777) that the original runtime mounts under instead of its defaults.</summary>
    public const string MountRoot = "MOUNT_ROOT";

    /// <summary>Path, relative to the image root, of the <c>/bin/sh</c> script the original runtime executes.</summary>
    public const string XarexecTarget = "XAREXEC_TARGET";

    /// <summary>
    /// Path, relative to the image root, of the program our launcher executes when it differs from
    /// <see cref="XarexecTarget"/>: a raw archive in the xarexec layout records its real target here
    /// and a generated <c>/bin/sh</c> wrapper as XAREXEC_TARGET, so that the original runtime
    /// (<c>/bin/sh -e TARGET ARCHIVE ARGS…</c>) and ours give the target the same argv (an extra key).
    /// </summary>
    public const string Target = "XAR_TARGET";

    /// <summary>Facebook-internal list <c>'name1' 'name2'</c>; validated by the original XarParser only.</summary>
    public const string XarexecTrampolineNames = "XAREXEC_TRAMPOLINE_NAMES";

    /// <summary>
    /// The machine the archive was built for, as <c>xar build --target</c> names it
    /// (<c>linux-x64</c>, <c>linux-arm64</c>; an extra key, for information: the launcher does not
    /// refuse another machine, which qemu-user may run).
    /// </summary>
    public const string Platform = "XAR_PLATFORM";

    /// <summary>Our format version (an extra key the original readers ignore).</summary>
    public const string Format = "XAR_FORMAT";

    /// <summary>Lowercase hex SHA-256 of the image, from OFFSET to the end of the file (an extra key).</summary>
    public const string ImageSha256 = "XAR_IMAGE_SHA256";

    /// <summary>What the target host needs: a Python version specifier such as <c>&gt;=3.11,&lt;3.14</c> (an extra key).</summary>
    public const string RequiresPython = "XAR_REQUIRES_PYTHON";

    /// <summary>
    /// How the launcher starts the target (<see cref="StartCommand"/>, an extra key): the program's
    /// candidates, <c>{root}/PATH</c> in the image, <c>/PATH</c> on the host or a name on PATH.
    /// </summary>
    public const string StartProgram = "XAR_START_PROGRAM";

    /// <summary>The start command's argv after the program (<see cref="StartCommand.Arguments"/>).</summary>
    public const string StartArguments = "XAR_START_ARGS";

    /// <summary>The start command's <c>NAME=value</c> variables (<see cref="StartCommand.Environment"/>).</summary>
    public const string StartEnvironment = "XAR_START_ENV";

    /// <summary>What the start command's program is, for the message when none is found (<see cref="StartCommand.Needs"/>).</summary>
    public const string StartNeeds = "XAR_START_NEEDS";

    /// <summary>
    /// What every start reads of the image besides the start program and its libraries
    /// (<see cref="StartRead"/>): <c>PATH=BYTES</c> items separated by ':', the first BYTES
    /// of each file, which a mount's server decompresses ahead of the first READ (docs/fuse-server.md, "Prefetch").
    /// </summary>
    public const string StartReads = "XAR_START_READS";

    /// <summary>A Python archive's interpreter: implementation and major.minor, e.g. <c>cpython-3.11</c> (docs/python-apps.md).</summary>
    public const string Python = "XAR_PYTHON";

    /// <summary>The ABI tag of a Python archive's bytecode and native code, e.g. <c>cp311</c>.</summary>
    public const string PythonAbi = "XAR_PYTHON_ABI";

    /// <summary>
    /// The host interpreter a Python archive was built with. Archives of earlier builders start from
    /// it (and XAR_PYTHON, XAR_PYTHON_INHERIT_SITE) rather than from XAR_START_PROGRAM: see <see cref="StartCommand.FromHeader"/>.
    /// </summary>
    public const string PythonInterpreter = "XAR_PYTHON_INTERPRETER";

    /// <summary>"1" when a Python archive was built to see the host's site-packages and PYTHON* variables (not isolated).</summary>
    public const string PythonInheritSite = "XAR_PYTHON_INHERIT_SITE";

    /// <summary>What the target host needs: a platform tag such as <c>manylinux_2_28_x86_64</c> (an extra key).</summary>
    public const string RequiresPlatform = "XAR_REQUIRES_PLATFORM";

    /// <summary>
    /// Colon-separated directories, relative to the image root, that the launcher puts in front of
    /// LD_LIBRARY_PATH for the target: where the image carries the native libraries its objects
    /// need (<c>__xar__/lib</c>, docs/python-apps.md §7). The host's value is passed as
    /// XAR_HOST_LD_LIBRARY_PATH (unset when the host had none).
    /// </summary>
    public const string LibraryPath = "XAR_LIBRARY_PATH";

    /// <summary>The newest glibc symbol version (e.g. <c>2.34</c>) an object of the image needs; the launcher refuses an older host.</summary>
    public const string RequiresGlibc = "XAR_REQUIRES_GLIBC";

    /// <summary>Keys the writer emits itself, so they cannot be passed as extra keys.</summary>
    internal static bool IsWrittenByWriter(string key) => key is Offset or Uuid or Version or Dependencies
        or MountRoot or XarexecTarget or Target or Format or ImageSha256;
}
