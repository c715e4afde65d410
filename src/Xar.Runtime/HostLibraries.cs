using System.Runtime.InteropServices;
using Xar.Archive;
using Xar.Archive.Elf;
using Xar.Interop;

namespace Xar.Runtime;

/// <summary>
/// What an archive that carries native libraries needs of the host (docs/launcher.md): a glibc at
/// least as new as XAR_REQUIRES_GLIBC, checked before anything is mounted; and its library
/// directories (XAR_LIBRARY_PATH) in front of LD_LIBRARY_PATH for the target.
/// </summary>
internal static unsafe class HostLibraries
{
    /// <summary>Refuses a host whose glibc is older than the archive needs, in one line naming both versions.</summary>
    /// <exception cref="XarRuntimeException"><see cref="XarExitCode.HostTooOld"/>.</exception>
    /// <exception cref="XarFormatException">XAR_REQUIRES_GLIBC is malformed (<see cref="XarExitCode.BadArchive"/>).</exception>
    public static void CheckGlibc(XarHeader header, string archivePath) => CheckGlibc(header, archivePath, HostGlibcVersion());

    internal static void CheckGlibc(XarHeader header, string archivePath, string hostVersion)
    {
        if (LibraryRequirements.Glibc(header, archivePath) is not { } needed)
            return;
        // A host version that does not parse (a distribution's suffix) is not held against the archive.
        if (GlibcVersion.Parse(hostVersion) is { } host && host < needed)
            throw new XarRuntimeException(XarExitCode.HostTooOld, archivePath,
                $"needs glibc {header[XarHeaderKeys.RequiresGlibc]} or newer ({XarHeaderKeys.RequiresGlibc}), this host has glibc {hostVersion}");
    }

    /// <summary>
    /// The target's LD_LIBRARY_PATH: the image's library directories, then the host's value; and the
    /// host's value as XAR_HOST_LD_LIBRARY_PATH (unset when it had none) for the bootstrap to restore.
    /// Null when the archive has no XAR_LIBRARY_PATH.
    /// </summary>
    /// <exception cref="XarFormatException">A directory that is not a path inside the image (<see cref="XarExitCode.BadArchive"/>).</exception>
    public static string? LibraryPath(XarHeader header, string treeDirectory, string? hostValue, string archivePath)
    {
        IReadOnlyList<string> relative = LibraryRequirements.Directories(header, archivePath);
        if (relative.Count == 0)
            return null;
        var directories = relative.Select(directory => treeDirectory + "/" + directory).ToList();
        if (!string.IsNullOrEmpty(hostValue))
            directories.Add(hostValue);
        return string.Join(':', directories);
    }

    private static string HostGlibcVersion() => Marshal.PtrToStringUTF8((nint)LibC.gnu_get_libc_version()) ?? "";
}
