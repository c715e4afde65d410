using Xar.Archive;

namespace Xar.Runtime;

/// <summary>Extracts an archive's image with the SquashFS reader.</summary>
internal static class ImageExtraction
{
    /// <exception cref="XarRuntimeException">The image cannot be extracted.</exception>
    public static void Extract(XarArchive archive, string destination, string archivePath)
    {
        _ = archive;
        _ = destination;
        throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, "this build has no SquashFS reader to extract with (branch reader not merged)");
    }
}
