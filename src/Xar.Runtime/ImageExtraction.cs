using Xar.Archive;
using Xar.SquashFs;
using Xar.SquashFs.Reading;

namespace Xar.Runtime;

/// <summary>Extracts an archive's image with the SquashFS reader (the fourth rung).</summary>
internal static class ImageExtraction
{
    /// <summary>Extracts the whole image into <paramref name="destination"/>, which must not exist yet.</summary>
    /// <exception cref="XarRuntimeException">The image is corrupt (<see cref="XarExitCode.BadArchive"/>) or the destination refused a write (<see cref="XarExitCode.CannotCreate"/>).</exception>
    public static void Extract(XarArchive archive, string destination)
    {
        string archivePath = archive.Path;
        XarImageRegion region = archive.Image;
        try
        {
            using SquashFsImage image = SquashFsImage.Open(region.Handle, region.Offset, ownsHandle: false);
            image.ExtractTo(destination);
        }
        catch (SquashFsException e)
        {
            throw new XarRuntimeException(XarExitCode.BadArchive, archivePath, $"SquashFS image at OFFSET {region.Offset}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new XarRuntimeException(XarExitCode.CannotCreate, archivePath, $"cannot extract into {destination}: {e.Message}");
        }
    }
}
