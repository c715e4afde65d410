namespace Xar.Archive;

/// <summary>
/// The output file seen from the image's first byte, handed to the code that writes the image.
/// It does not hash as it goes: the SquashFS writer seeks back to put the superblock in front
/// last, so the image is hashed from the file once it is complete. Disposing it (an image writer
/// may own its output) does not close the file, which belongs to <see cref="XarArchiveWriter"/>.
/// </summary>
internal sealed class ImageWriteStream : Stream
{
    private readonly FileStream _file;
    private readonly long _imageOffset;

    public ImageWriteStream(FileStream file, long imageOffset)
    {
        _file = file;
        _imageOffset = imageOffset;
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

    public override void Write(ReadOnlySpan<byte> buffer) => _file.Write(buffer);

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

    public override void SetLength(long value) => _file.SetLength(_imageOffset + value);

    public override void Flush() => _file.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the image stream is write-only");
}
