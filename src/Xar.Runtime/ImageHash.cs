using System.Globalization;
using System.Text;
using Xar.Archive;
using Xar.Interop;
using Xar.SquashFs;


namespace Xar.Runtime;

/// <summary>
/// The verified stamp: lets a launch skip <see cref="XarArchive.Verify"/> of a file it already
/// verified (hashing is done, managed or by libcrypto, in Xar.Archive: FileRegion.Sha256).
/// </summary>
internal static class ImageHash
{
    /// <summary>
    /// <see cref="XarArchive.Verify"/>, skipped when this very file was verified before. Mounting again after
    /// an idle unmount is the common cold start, and hashing is most of the launcher's share of
    /// it. <paramref name="stampPath"/> (in the caller's own mount directory) records the file's
    /// identity — device, inode, size, modification and change times — with the hash it matched;
    /// any write to the file changes its change time, a copy or download is another inode, so a
    /// stamp that still matches means the same bytes as when they were hashed.
    /// </summary>
    public static void VerifyUnlessStamped(XarArchive archive, string stampPath)
    {
        if (archive.Header.ImageSha256 is null)
            return;
        string? identity = Identity(archive);
        if (identity is not null && ReadStamp(stampPath) == identity)
            return;
        archive.Verify(); // A mismatch throws XarFormatException: exit code BadArchive in XarexecCommand.
        if (identity is not null)
            WriteStamp(stampPath, identity);
    }

    private static string? Identity(XarArchive archive)
    {
        if (LibC.Stat((int)archive.Image.Handle.DangerousGetHandle(), out StatX stat) != 0)
            return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"{stat.DevMajor}:{stat.DevMinor} {stat.Ino} {stat.Size} {stat.Mtime.Seconds}.{stat.Mtime.Nanoseconds:D9} {stat.Ctime.Seconds}.{stat.Ctime.Nanoseconds:D9} {archive.ImageOffset} {archive.Header.ImageSha256}\n");
    }

    private static string? ReadStamp(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Best effort: without a stamp the next cold start hashes again.</summary>
    private static void WriteStamp(string path, string identity)
    {
        try
        {
            using var output = OutputFile.Create(path);
            output.Stream.Write(Encoding.UTF8.GetBytes(identity));
            output.Commit();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // OutputFile removed its temporary file.
        }
    }
}
