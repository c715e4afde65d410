using Xar.SquashFs;
using Xar.SquashFs.Format;

namespace Xar.Archive;

/// <summary>How <see cref="XarArchiveWriter"/> lays out a new archive.</summary>
public sealed class XarWriteOptions
{
    /// <summary>rwxr-xr-x, the mode the original builder gives executable archives.</summary>
    public const UnixFileMode ExecutableMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public required XarHeaderFields Header { get; init; }

    public XarLayout Layout { get; init; } = XarLayout.Self;

    /// <summary>
    /// The launcher executable, read from its current position to its end: required for
    /// <see cref="XarLayout.Self"/>, absent for <see cref="XarLayout.Xarexec"/>. It must be an ELF
    /// file that ends where its ELF headers say (up to the next multiple of 4096), since that is how
    /// readers find the header after it.
    /// </summary>
    public Stream? Launcher { get; init; }

    public UnixFileMode Mode { get; init; } = ExecutableMode;
}

/// <summary>What was written.</summary>
public sealed record XarWriteResult(string Path, XarLayout Layout, long HeaderOffset, long ImageOffset, long ImageLength,
    string ImageSha256, string Uuid);

/// <summary>
/// Writes an archive in one pass: the launcher (self layout), a reserved 4096-byte header area,
/// the image streamed at OFFSET while it is hashed, then the header — last, because it records the
/// image's SHA-256 and, by default, a UUID derived from it. The file is built under a temporary
/// name in the destination's directory and renamed over the destination only when complete.
/// </summary>
public static class XarArchiveWriter
{
    // Stand-ins of the final lengths, to check that the header fits before the image is built.
    private const string PlaceholderUuid = "00000000";
    private static readonly string PlaceholderSha256 = new('0', 64);

    /// <summary>Writes an archive whose image is the rest of <paramref name="image"/>, e.g. a file from mksquashfs.</summary>
    public static XarWriteResult Write(string destinationPath, XarWriteOptions options, Stream image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Write(destinationPath, options, output => image.CopyTo(output, 1 << 20));
    }

    /// <summary>
    /// Writes an archive whose image <paramref name="writeImage"/> writes into the stream it is
    /// given. That stream starts at the image's first byte (position 0 = OFFSET) and may be seeked
    /// within the image; the image ends where the furthest write ends.
    /// </summary>
    /// <exception cref="ArgumentException">The options or header fields are invalid, or the header would not fit in 4096 bytes.</exception>
    /// <exception cref="XarFormatException">The launcher is not a usable ELF file, or the image is not a SquashFS image.</exception>
    public static XarWriteResult Write(string destinationPath, XarWriteOptions options, Action<Stream> writeImage)
    {
        ArgumentNullException.ThrowIfNull(destinationPath);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(writeImage);
        options.Header.Validate();
        if (options.Layout == XarLayout.Self && options.Launcher is null)
            throw new ArgumentException("the self layout needs a launcher executable", nameof(options));
        if (options.Layout == XarLayout.Xarexec && options.Launcher is not null)
            throw new ArgumentException("the xarexec layout starts with the header; it has no launcher", nameof(options));

        string fullPath = Path.GetFullPath(destinationPath);
        using var file = OutputFile.Create(destinationPath, options.Mode);
        var output = file.Stream;
        long headerOffset = options.Launcher is null ? 0 : WriteLauncher(output, options.Launcher, destinationPath);
        long imageOffset = headerOffset + XarHeaderText.Size;
        XarHeaderText.Format(options.Header, imageOffset, options.Header.Uuid ?? PlaceholderUuid, PlaceholderSha256);

        (long imageLength, string imageSha256) = WriteImage(output, imageOffset, writeImage, destinationPath);
        string uuid = options.Header.Uuid ?? imageSha256[..8];
        byte[] header = XarHeaderText.Format(options.Header, imageOffset, uuid, imageSha256);
        output.Flush();
        RandomAccess.Write(output.SafeFileHandle, header, headerOffset);
        file.Commit();
        return new XarWriteResult(fullPath, options.Layout, headerOffset, imageOffset, imageLength, imageSha256, uuid);
    }

    /// <summary>Copies the launcher and pads it to the header's offset, the next multiple of 4096.</summary>
    private static long WriteLauncher(FileStream output, Stream launcher, string destinationPath)
    {
        launcher.CopyTo(output, 1 << 20);
        output.Flush();
        long length = output.Length;
        long extent = ElfExtent.Compute(output.SafeFileHandle, length, destinationPath);
        long headerOffset = FileRegion.AlignUp(length);
        if (FileRegion.AlignUp(extent) != headerOffset)
            throw new XarFormatException(destinationPath,
                $"the launcher has {length - extent} bytes after the end of its ELF image ({extent} bytes); readers, which locate the header from the ELF headers, would look for it at {FileRegion.AlignUp(extent)}, not {headerOffset}");
        output.Write(new byte[headerOffset - length]);
        return headerOffset;
    }

    private static (long Length, string Sha256) WriteImage(FileStream output, long imageOffset, Action<Stream> writeImage, string destinationPath)
    {
        var image = new ImageWriteStream(output, imageOffset);
        writeImage(image);
        output.Flush();
        long length = image.Length;
        Span<byte> superblockBytes = stackalloc byte[SquashFsConstants.SuperblockSize];
        int read = FileRegion.ReadFull(output.SafeFileHandle, superblockBytes, imageOffset);
        try
        {
            Superblock.Read(superblockBytes[..read], length);
        }
        catch (SquashFsException e)
        {
            throw new XarFormatException(destinationPath, $"the image written is not a SquashFS image ({length} bytes): {e.Message}", e);
        }
        return (length, FileRegion.Sha256(output.SafeFileHandle, imageOffset, length, destinationPath, CancellationToken.None));
    }
}
