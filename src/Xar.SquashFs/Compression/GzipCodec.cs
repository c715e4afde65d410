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
        // The stream reports a result that does not fit the limit by overflowing.
        int limit = Math.Max(OutputLimit(source, destination), 0);
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
    private readonly SpanReadStream _input = new();

    public override unsafe int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        fixed (byte* src = source)
        {
            _input.Reset(src, source.Length);
            try
            {
                // ZLibStream has no reset, so each block pays for one inflateInit (about 1 µs).
                using var zlib = new ZLibStream(_input, CompressionMode.Decompress, leaveOpen: true);
                int total = 0;
                while (total < destination.Length)
                {
                    int n = zlib.Read(destination[total..]);
                    if (n == 0) return CheckEnded(total);
                    total += n;
                }
                // Destination full: anything further means the block expands beyond it.
                Span<byte> probe = stackalloc byte[1];
                if (zlib.Read(probe) != 0)
                    throw new SquashFsException($"gzip: block expands beyond {destination.Length} bytes");
                return CheckEnded(total);
            }
            catch (InvalidDataException e)
            {
                throw new SquashFsException($"gzip: corrupt block ({e.Message})", e);
            }
            finally
            {
                _input.Reset(null, 0);
            }
        }
    }

    /// <summary>
    /// ZLibStream reports a stream cut short as a plain end of data (strict validation is a
    /// process-wide opt-in). It stops reading its input once the zlib stream, Adler-32 included,
    /// has ended, so a read that found the input exhausted means the stream was still unfinished.
    /// </summary>
    private int CheckEnded(int total) => _input.ReadPastEnd
        ? throw new SquashFsException("gzip: corrupt block (truncated)")
        : total;
}

/// <summary>
/// A read-only stream over a fixed native buffer, reset per block, that records whether its reader
/// asked for more than the buffer holds.
/// </summary>
internal sealed unsafe class SpanReadStream : Stream
{
    private byte* _buffer;
    private int _length;
    private int _position;

    public bool ReadPastEnd { get; private set; }

    public void Reset(byte* buffer, int length)
    {
        _buffer = buffer;
        _length = length;
        _position = 0;
        ReadPastEnd = false;
    }

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, _length - _position);
        if (n == 0 && !buffer.IsEmpty) ReadPastEnd = true;
        new ReadOnlySpan<byte>(_buffer + _position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
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
