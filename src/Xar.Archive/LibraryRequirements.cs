using Xar.Archive.Elf;

namespace Xar.Archive;

/// <summary>
/// What an archive that carries native libraries asks of the host (docs/python-apps.md §7), read
/// from its header for any archive, Python or raw: its library directories (XAR_LIBRARY_PATH,
/// which the launcher puts in front of LD_LIBRARY_PATH) and the newest glibc its ELF objects
/// need (XAR_REQUIRES_GLIBC, which the launcher checks before mounting). The launcher, the FUSE
/// daemon's start set and `xar verify` read them here, so all three refuse the same values.
/// </summary>
public static class LibraryRequirements
{
    /// <summary>XAR_LIBRARY_PATH's directories, relative to the image root, in order; none when the key is absent.</summary>
    /// <exception cref="XarFormatException">A directory is empty, absolute or has a '..' segment.</exception>
    public static IReadOnlyList<string> Directories(XarHeader header, string archivePath)
    {
        if (header[XarHeaderKeys.LibraryPath] is not { } value)
            return [];
        string[] directories = value.Split(':');
        if (!directories.All(ImagePaths.IsInside))
            throw new XarFormatException(archivePath,
                $"{XarHeaderKeys.LibraryPath} \"{value}\" is not a list of paths inside the image (empty, absolute, or with a '..' segment)");
        return directories;
    }

    /// <summary>XAR_REQUIRES_GLIBC as a version (2.34 → 2.34.0.0); null when the key is absent.</summary>
    /// <exception cref="XarFormatException">The value is not a version such as 2.34.</exception>
    public static Version? Glibc(XarHeader header, string archivePath) =>
        header[XarHeaderKeys.RequiresGlibc] is not { } value ? null
        : GlibcVersion.Parse(value) ?? throw new XarFormatException(archivePath, $"{XarHeaderKeys.RequiresGlibc} \"{value}\" is not a version such as 2.34");
}
