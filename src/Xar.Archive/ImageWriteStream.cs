using System.Security.Cryptography;

namespace Xar.Archive;

/// <summary>
/// The output file seen from the image's first byte, handed to the code that writes the image.
/// It hashes bytes as they are appended; a SquashFS writer that seeks back (to put the superblock
/// in front last, say) breaks the append-only run, and the writer then hashes the region from the
/// file instead. Disposing it (an image writer may own its output) closes neither the file nor
/// the hash, which belong to <see cref="XarArchiveWriter"/>.
/// </summary>
internal sealed class ImageWriteStream : Stream
{
    private readonly FileStream _file;
    private readonly long _imageOffset;
    private readonly IncrementalHash _hash;
    private long _hashedLength;
    private bool _appendOnly = true;

    public ImageWriteStream(FileStream file, long imageOffset, IncrementalHash sha256)
    {
        _file = file;
        _imageOffset = imageOffset;
        _hash = sha256;
        _file.Position = imageOffset;
    }

    public override bool CanRead => false;
    public override bool CanSeek => true;
    public override bool CanWrite => true;
    public override long Length => Math.Max(0, _file.Length - _imageOffset);

    public override long Position
    {
        get => _file.Position - _imageOffset;
        set => Seek(value, SeekOrigin.Begin);
    }

    /// <summary>The SHA-256 of the image when it was written front to back in one run, else null.</summary>
    public string? AppendOnlySha256() =>
        _appendOnly && _hashedLength == Length ? Convert.ToHexStringLower(_hash.GetHashAndReset()) : null;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_appendOnly && Position == _hashedLength)
        {
            _hash.AppendData(buffer);
            _hashedLength += buffer.Length;
        }
        else
        {
            _appendOnly = false;
        }
        _file.Write(buffer);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        if (target < 0)
            throw new IOException($"seek to {target}, before the start of the image");
        _file.Position = _imageOffset + target;
        return target;
    }

    public override void SetLength(long value)
    {
        if (value < _hashedLength)
            _appendOnly = false;
        _file.SetLength(_imageOffset + value);
    }

    public override void Flush() => _file.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the image stream is write-only");
}
