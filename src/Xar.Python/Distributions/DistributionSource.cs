using Xar.SquashFs.Writing;

namespace Xar.Python.Distributions;

/// <summary>
/// Where a distribution file is installed: the schemes of a wheel's <c>.data/</c> directory
/// (PEP 427, sysconfig's install schemes), and the image root for what is not a distribution's
/// (the interpreter, the native library closure). <see cref="PythonImageLayout.PathOf"/> maps them into the image.
/// </summary>
public enum InstallScheme
{
    Purelib,
    Platlib,
    Scripts,
    Headers,
    Data,

    /// <summary>Paths relative to the image root.</summary>
    Image,
}

/// <summary>Which first lines of a <see cref="InstallScheme.Scripts"/> file the destination replaces by <see cref="ScriptShebang.Portable"/>.</summary>
public enum ShebangRewrite
{
    /// <summary>Only the <c>#!python</c> placeholder a wheel marks its Python scripts with (PEP 427; pip does the same).</summary>
    WheelPlaceholder,

    /// <summary>Any shebang naming a Python interpreter: an installed script names the build machine's.</summary>
    AnyPython,
}

/// <summary>
/// One file or symlink of a source, by scheme and path in it. The source reports what it knows
/// of the file's RECORD row (<see cref="Hash"/>, <see cref="Size"/>); the destination writes the
/// row for what it actually installs.
/// </summary>
public sealed record DistributionFile
{
    public required InstallScheme Scheme { get; init; }

    /// <summary>Relative to the scheme's directory, with '/'.</summary>
    public required string Path { get; init; }

    public required ImageEntryType Type { get; init; }

    /// <summary>The content of a file (opened when read; each read is independent).</summary>
    public FileContent? Content { get; init; }

    /// <summary>The target of a symlink, stored verbatim.</summary>
    public string? LinkTarget { get; init; }

    /// <summary>Permission bits.</summary>
    public int Mode { get; init; }

    /// <summary>Seconds since the Unix epoch.</summary>
    public long ModificationTime { get; init; }

    /// <summary>The hash the source's RECORD gives it, or null when unknown.</summary>
    public RecordHash? Hash { get; init; }

    /// <summary>The size the source's RECORD gives it, or null when unknown.</summary>
    public long? Size { get; init; }

    public static DistributionFile File(InstallScheme scheme, string path, FileContent content, int mode, long time, RecordHash? hash = null, long? size = null) =>
        new() { Scheme = scheme, Path = path, Type = ImageEntryType.File, Content = content, Mode = mode, ModificationTime = time, Hash = hash, Size = size };

    public static DistributionFile Symlink(InstallScheme scheme, string path, string target, long time) =>
        new() { Scheme = scheme, Path = path, Type = ImageEntryType.Symlink, LinkTarget = target, ModificationTime = time };
}

/// <summary>
/// The metadata directory whose RECORD the destination writes (PEP 376): it lists every file the
/// destination installed for the source, with the hash of what was written.
/// </summary>
/// <param name="Directory">The <c>.dist-info</c> directory, relative to the <see cref="InstallScheme.Purelib"/> directory.</param>
/// <param name="Mode">Permission bits of RECORD (and INSTALLER).</param>
/// <param name="ModificationTime">Modification time of RECORD (and INSTALLER).</param>
/// <param name="WriteInstaller">Whether this install is xar's (a wheel's): INSTALLER says <c>xar</c>. An installed distribution keeps the one its installer wrote.</param>
public sealed record InstallRecord(string Directory, int Mode, long ModificationTime, bool WriteInstaller);

/// <summary>
/// What can be installed into a Python image (the split pypa/installer makes between a wheel
/// source and its destination): a wheel, an installed distribution, the interpreter, the native
/// library closure. A source only lists its files; <see cref="PythonImageDestination"/> places
/// them, rewrites script shebangs and writes RECORD and INSTALLER.
/// </summary>
public interface IDistributionSource
{
    /// <summary>Where it comes from, for messages: the wheel file, the metadata directory, the interpreter.</summary>
    string Origin { get; }

    /// <summary>How the destination treats the shebangs of its scripts.</summary>
    ShebangRewrite Shebangs { get; }

    /// <summary>The RECORD to write for it, or null (egg metadata, what is no distribution).</summary>
    InstallRecord? Record { get; }

    /// <summary>Its files and symlinks (parent directories are implied), in the order RECORD lists them.</summary>
    IReadOnlyList<DistributionFile> GetFiles();
}
