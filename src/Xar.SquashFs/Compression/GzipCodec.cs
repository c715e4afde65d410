using System.IO.Compression;

namespace Xar.SquashFs.Compression;

/// <summary>
/// SquashFS "gzip" blocks are raw zlib streams (2-byte header, Adler-32 trailer), which is what
/// <see cref="ZLibStream"/> reads and writes.
/// </summary>
internal sealed class GzipCompressor(int level, ZLibCompressionStrategy strategy) : BlockCompressor
{
    private readonly ZLibCompressionOptions _options = new() { CompressionLevel = level, CompressionStrategy = strategy };
    private readonly SpanWriteStream _output = new();

    public override unsafe int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        // A window one byte short of the source: a result that does not fit is no smaller, so the
        // block is stored raw (the stream reports that by overflowing).
        int limit = Math.Min(destination.Length, Math.Max(source.Length - 1, 0));
        fixed (byte* dst = destination)
        {
            _output.Reset(dst, limit);
            try
            {
                using (var zlib = new ZLibStream(_output, _options, leaveOpen: true))
                    zlib.Write(source);
                return _output.Overflowed ? 0 : (int)_output.Position;
            }
            finally
            {
                _output.Reset(null, 0);
            }
        }
    }
}

internal sealed class GzipDecompressor : BlockDecompressor
{
    public override int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        try
        {
            unsafe
            {
                fixed (byte* src = source)
                {
                    using var input = new UnmanagedMemoryStream(src, source.Length);
                    using var zlib = new ZLibStream(input, CompressionMode.Decompress);
                    int total = 0;
                    while (total < destination.Length)
                    {
                        int n = zlib.Read(destination[total..]);
                        if (n == 0) return total;
                        total += n;
                    }
                    // Destination full: anything further means the block expands beyond it.
                    Span<byte> probe = stackalloc byte[1];
                    if (zlib.Read(probe) != 0)
                        throw new SquashFsException($"gzip: block expands beyond {destination.Length} bytes");
                    return total;
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new SquashFsException($"gzip: corrupt block ({e.Message})", e);
        }
    }
}

/// <summary>
/// A write-only stream over a fixed native buffer that records overflow instead of throwing, so a
/// compressor can give up on an incompressible block without an exception per block.
/// </summary>
internal sealed unsafe class SpanWriteStream : Stream
{
    private byte* _buffer;
    private int _capacity;
    private int _position;

    public bool Overflowed { get; private set; }

    public void Reset(byte* buffer, int capacity)
    {
        _buffer = buffer;
        _capacity = capacity;
        _position = 0;
        Overflowed = false;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Overflowed) return;
        if (buffer.Length > _capacity - _position)
        {
            Overflowed = true;
            return;
        }
        buffer.CopyTo(new Span<byte>(_buffer + _position, _capacity - _position));
        _position += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void WriteByte(byte value) => Write([value]);
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _position;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
