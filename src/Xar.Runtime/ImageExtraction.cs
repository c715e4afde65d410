using System.Runtime.ExceptionServices;
using Xar.Archive;
using Xar.SquashFs;
using Xar.SquashFs.Reading;

namespace Xar.Runtime;

/// <summary>Extracts an archive's image with the SquashFS reader (the fourth rung).</summary>
internal static class ImageExtraction
{
    /// <summary>
    /// Extracts the whole image into <paramref name="destination"/>, which must not exist yet, and
    /// with <paramref name="verify"/> checks the image's hash on another thread meanwhile (hashing
    /// first left a core idle for 1 ms per 1.6 MB). The destination is a temporary tree that the
    /// caller renames into place only when this returns, so an image is used only once its hash
    /// matched; the reader checks every field it reads, so reading an image not yet verified is
    /// as safe as reading one whose hash matches (its author wrote both).
    /// </summary>
    /// <exception cref="XarFormatException">The image does not match its hash; reported rather than whatever that made the extraction meet.</exception>
    /// <exception cref="XarRuntimeException">The image is corrupt (<see cref="XarExitCode.BadArchive"/>) or the destination refused a write (<see cref="XarExitCode.CannotCreate"/>).</exception>
    public static void Extract(XarArchive archive, string destination, bool verify)
    {
        using var mismatch = new CancellationTokenSource();
        Task? verification = verify
            ? Task.Factory.StartNew(() =>
            {
                try
                {
                    archive.Verify();
                }
                catch
                {
                    mismatch.Cancel(); // the tree will be deleted: stop writing it
                    throw;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : null;
        ExceptionDispatchInfo? extractionFailure = null;
        try
        {
            ExtractImage(archive, destination, mismatch.Token);
        }
        catch (Exception e)
        {
            extractionFailure = ExceptionDispatchInfo.Capture(e);
        }
        verification?.GetAwaiter().GetResult();
        extractionFailure?.Throw();
    }

    private static void ExtractImage(XarArchive archive, string destination, CancellationToken cancellationToken)
    {
        string archivePath = archive.Path;
        XarImageRegion region = archive.Image;
        try
        {
            using SquashFsImage image = SquashFsImage.Open(region.Handle, region.Offset, ownsHandle: false);
            image.ExtractTo(destination, new ExtractOptions { PrivateRoot = true, CancellationToken = cancellationToken });
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
