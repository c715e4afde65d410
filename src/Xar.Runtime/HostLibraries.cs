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
    /// <exception cref="XarRuntimeException"><see cref="XarExitCode.HostTooOld"/>, or <see cref="XarExitCode.BadArchive"/> for a malformed key.</exception>
    public static void CheckGlibc(XarHeader header, string archivePath) => CheckGlibc(header, archivePath, HostGlibcVersion());

    internal static void CheckGlibc(XarHeader header, string archivePath, string hostVersion)
    {
        if (header[XarHeaderKeys.RequiresGlibc] is not { } required)
            return;
        Version needed = GlibcVersion.Parse(required)
            ?? throw new XarRuntimeException(XarExitCode.BadArchive, archivePath, $"{XarHeaderKeys.RequiresGlibc} \"{required}\" is not a version such as 2.34");
        // A host version that does not parse (a distribution's suffix) is not held against the archive.
        if (GlibcVersion.Parse(hostVersion) is { } host && host < needed)
            throw new XarRuntimeException(XarExitCode.HostTooOld, archivePath,
                $"needs glibc {required} or newer ({XarHeaderKeys.RequiresGlibc}), this host has glibc {hostVersion}");
    }

    /// <summary>
    /// The target's LD_LIBRARY_PATH: the image's library directories, then the host's value; and the
    /// host's value as XAR_HOST_LD_LIBRARY_PATH (unset when it had none) for the bootstrap to restore.
    /// Null when the archive has no XAR_LIBRARY_PATH.
    /// </summary>
    /// <exception cref="XarRuntimeException">A directory that is not a path inside the image (<see cref="XarExitCode.BadArchive"/>).</exception>
    public static string? LibraryPath(XarHeader header, string treeDirectory, string? hostValue, string archivePath)
    {
        if (header[XarHeaderKeys.LibraryPath] is not { } relative)
            return null;
        var directories = new List<string>();
        foreach (string directory in relative.Split(':'))
        {
            if (directory.Length == 0 || directory[0] == '/' || directory.Split('/').Contains(".."))
                throw new XarRuntimeException(XarExitCode.BadArchive, archivePath,
                    $"{XarHeaderKeys.LibraryPath} \"{relative}\" is not a list of paths inside the image (empty, absolute, or with a '..' segment)");
            directories.Add(treeDirectory + "/" + directory);
        }
        if (!string.IsNullOrEmpty(hostValue))
            directories.Add(hostValue);
        return string.Join(':', directories);
    }

    private static string HostGlibcVersion() => Marshal.PtrToStringUTF8((nint)LibC.gnu_get_libc_version()) ?? "";
}
