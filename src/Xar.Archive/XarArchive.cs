using Microsoft.Win32.SafeHandles;
using Xar.Interop;
using Xar.SquashFs;
using Xar.SquashFs.Format;

namespace Xar.Archive;

/// <summary>Whether <see cref="XarArchive.Verify"/> could check the image.</summary>
public enum XarVerification
{
    /// <summary>The image hashes to the header's XAR_IMAGE_SHA256.</summary>
    Verified,

    /// <summary>The header has no XAR_IMAGE_SHA256 (the original builder writes none): nothing to check against.</summary>
    NoHashRecorded,
}

/// <summary>
/// The SquashFS image inside an archive, for the SquashFS reader: image offsets are relative to
/// <see cref="Offset"/>. The handle belongs to the <see cref="XarArchive"/> and closes with it.
/// </summary>
public readonly record struct XarImageRegion(SafeFileHandle Handle, long Offset, long Length);

/// <summary>
/// An open archive of either layout: where its header and image are, what the header says, and
/// the validated superblock of the image. Opening reads a few kilobytes (the ELF headers of a self
/// archive, the header, the superblock); <see cref="Verify"/> reads the whole image.
/// </summary>
public sealed class XarArchive : IDisposable
{
    /// <summary>
    /// The longest header read when <c>#xar_stop</c> is not within the first 4096 bytes. The
    /// original builder writes longer headers only for very long values; the runtime refuses them.
    /// </summary>
    public const int MaxHeaderSize = 1 << 20;

    private readonly SafeFileHandle _handle;

    private XarArchive(SafeFileHandle handle, string path, XarLayout layout, long headerOffset, XarHeader header,
        long imageLength, Superblock superblock)
    {
        _handle = handle;
        Path = path;
        Layout = layout;
        HeaderOffset = headerOffset;
        Header = header;
        ImageLength = imageLength;
        Superblock = superblock;
    }

    /// <summary>The path as given to <see cref="Open"/>.</summary>
    public string Path { get; }

    /// <summary><see cref="XarLayout.Self"/> when the file starts with an ELF executable, else <see cref="XarLayout.Xarexec"/>.</summary>
    public XarLayout Layout { get; }

    /// <summary>Where the header text starts: 0, or the launcher's ELF extent rounded up to 4096.</summary>
    public long HeaderOffset { get; }

    public XarHeader Header { get; }

    /// <summary>OFFSET: where the image starts in the file.</summary>
    public long ImageOffset => Header.ImageOffset;

    /// <summary>From OFFSET to the end of the file (the SquashFS data plus mksquashfs's padding).</summary>
    public long ImageLength { get; }

    public Superblock Superblock { get; }

    /// <summary>The image for the SquashFS reader: this archive's handle, OFFSET and length.</summary>
    public XarImageRegion Image => new(_handle, ImageOffset, ImageLength);

    /// <summary>Opens and validates an archive of either layout.</summary>
    /// <exception cref="XarFormatException">The file is not an archive this library accepts; the message names the file and the problem.</exception>
    public static XarArchive Open(string path)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            return Read(handle, path);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads and validates the header of the archive open as <paramref name="handle"/>, which stays
    /// the caller's: the archive behind a descriptor, whatever file its path names by now.
    /// </summary>
    /// <exception cref="XarFormatException">The file is not an archive this library accepts.</exception>
    public static XarHeader ReadHeader(SafeFileHandle handle, string path) => Read(handle, path).Header;

    /// <summary>
    /// Hashes the image and compares it with XAR_IMAGE_SHA256.
    /// </summary>
    /// <exception cref="XarFormatException">The hashes differ.</exception>
    public XarVerification Verify(CancellationToken cancellationToken = default)
    {
        string? expected = Header.ImageSha256;
        if (expected is null)
            return XarVerification.NoHashRecorded;
        string actual = ComputeImageSha256(cancellationToken);
        if (!string.Equals(actual, expected, StringComparison.Ordinal))
            throw new XarFormatException(Path,
                $"image SHA-256 mismatch: the header records {expected}, the {ImageLength} bytes at OFFSET {ImageOffset} hash to {actual}");
        return XarVerification.Verified;
    }

    /// <summary>
    /// Lowercase hex SHA-256 of the image (OFFSET to the end of the file), whether or not the
    /// header records one: the launcher keys its extraction cache by it.
    /// </summary>
    /// <exception cref="XarFormatException">The file ends inside the image.</exception>
    public string ComputeImageSha256(CancellationToken cancellationToken = default) =>
        FileRegion.Sha256(_handle, ImageOffset, ImageLength, Path, cancellationToken);

    public void Dispose() => _handle.Dispose();

    private static XarArchive Read(SafeFileHandle handle, string path)
    {
        long fileLength = RandomAccess.GetLength(handle);
        Span<byte> block = stackalloc byte[XarHeader.MinimumSize];
        int read = FileRegion.ReadFull(handle, block, 0);
        XarLayout layout = XarLayout.Xarexec;
        long headerOffset = 0;
        if (ElfMagic.Starts(block[..read]))
        {
            layout = XarLayout.Self;
            long extent = ElfExtent.Compute(handle, fileLength, path);
            headerOffset = FileRegion.AlignUp(extent);
            if (headerOffset >= fileLength)
                throw new XarFormatException(path, $"an ELF executable with no XAR after it (its ELF extent is {extent} of {fileLength} bytes)");
            read = FileRegion.ReadFull(handle, block, headerOffset);
            if (!block[..read].StartsWith("#!"u8))
                throw new XarFormatException(path, $"no XAR header at offset {headerOffset}, where the launcher's ELF extent ({extent} bytes) rounded up to 4096 puts it");
        }
        if (layout == XarLayout.Xarexec && block[..read].StartsWith("hsqs"u8))
            throw new XarFormatException(path, "a bare SquashFS image, not a XAR: it has no header");
        if (read < block.Length)
        {
            throw new XarFormatException(path, layout == XarLayout.Xarexec
                ? $"the file is {fileLength} bytes, shorter than a {XarHeader.MinimumSize}-byte XAR header"
                : $"the file ends {read} bytes into the header at offset {headerOffset}, which needs {XarHeader.MinimumSize}");
        }

        XarHeader header = ParseHeader(handle, block, path, headerOffset, fileLength);
        long imageOffset = header.ImageOffset;
        if (imageOffset >= fileLength)
            throw new XarFormatException(path, $"OFFSET {imageOffset} is at or past the end of the file ({fileLength} bytes): there is no image");
        long imageLength = fileLength - imageOffset;

        Span<byte> superblockBytes = stackalloc byte[SquashFsConstants.SuperblockSize];
        int superblockRead = FileRegion.ReadFull(handle, superblockBytes, imageOffset);
        if (!superblockBytes[..superblockRead].StartsWith("hsqs"u8))
        {
            string found = Convert.ToHexString(superblockBytes[..Math.Min(superblockRead, 4)]);
            throw new XarFormatException(path, $"no SquashFS magic at OFFSET {imageOffset} (found 0x{found}, want 0x68737173 \"hsqs\")");
        }
        Superblock superblock;
        try
        {
            superblock = Superblock.Read(superblockBytes[..superblockRead], imageLength);
        }
        catch (SquashFsException e)
        {
            throw new XarFormatException(path, $"SquashFS image at OFFSET {imageOffset}: {e.Message}", e);
        }
        return new XarArchive(handle, path, layout, headerOffset, header, imageLength, superblock);
    }

    /// <summary>
    /// Parses the first 4096 bytes; only a header whose <c>#xar_stop</c> lies beyond them is read
    /// again in full, up to OFFSET.
    /// </summary>
    private static XarHeader ParseHeader(SafeFileHandle handle, ReadOnlySpan<byte> block, string path, long headerOffset, long fileLength)
    {
        XarHeader? header = XarHeader.TryParse(block, isWholeHeader: false, path, headerOffset, out long imageOffset);
        if (header is not null)
            return header;
        long headerLength = imageOffset - headerOffset;
        if (headerLength == block.Length)
            return XarHeader.TryParse(block, isWholeHeader: true, path, headerOffset, out _)!;
        if (headerLength > MaxHeaderSize)
            throw new XarFormatException(path, $"no #xar_stop line in the first {block.Length} bytes, and OFFSET {imageOffset} makes the header {headerLength} bytes, more than the {MaxHeaderSize} this reader takes");
        if (imageOffset > fileLength)
            throw new XarFormatException(path, $"OFFSET {imageOffset} is at or past the end of the file ({fileLength} bytes): there is no image");
        byte[] whole = new byte[headerLength];
        FileRegion.ReadFull(handle, whole, headerOffset);
        return XarHeader.TryParse(whole, isWholeHeader: true, path, headerOffset, out _)!;
    }
}
