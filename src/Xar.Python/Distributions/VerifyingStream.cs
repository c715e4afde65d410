namespace Xar.Python.Distributions;

/// <summary>
/// Reads an archive member while hashing it, and fails the read that completes the declared
/// length if the hash differs from RECORD's (when there is one: eggs have no RECORD); a member
/// shorter or longer than declared, or with corrupt compressed data, fails too, naming the archive
/// and member. Reading stops at the declared length, so the check runs even when the reader never
/// asks past it.
/// </summary>
internal sealed class VerifyingStream : Stream
{
    private readonly Stream _inner;
    private readonly RecordHash? _expected;
    private readonly long _length;
    private readonly Func<string, Exception> _fail;
    private readonly System.Security.Cryptography.IncrementalHash? _hasher;
    private long _position;
    private bool _verified;

    /// <param name="fail">Makes the exception for a problem (the caller names the archive and member).</param>
    public VerifyingStream(Stream inner, RecordHash? expected, long length, Func<string, Exception> fail)
    {
        _inner = inner;
        _expected = expected;
        _length = length;
        _fail = fail;
        _hasher = expected?.CreateHasher();
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position == _length)
        {
            Verify();
            return 0;
        }
        if (buffer.Length > _length - _position) buffer = buffer[..(int)(_length - _position)];
        int read;
        try
        {
            read = _inner.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw _fail($"the compressed data is corrupt ({e.Message})");
        }
        if (read == 0) throw _fail($"it ends after {_position} bytes, RECORD says {_length}");
        _hasher?.AppendData(buffer[..read]);
        _position += read;
        if (_position == _length) Verify();
        return read;
    }

    private void Verify()
    {
        if (_verified) return;
        // One more byte would mean the member is longer than RECORD says.
        Span<byte> probe = stackalloc byte[1];
        int extra;
        try
        {
            extra = _inner.Read(probe);
        }
        catch (InvalidDataException e)
        {
            throw _fail($"the compressed data is corrupt ({e.Message})");
        }
        if (extra != 0) throw _fail($"it is longer than the {_length} bytes RECORD says");
        string? actual = _hasher is null ? null : RecordHash.Encode(_hasher.GetHashAndReset());
        if (_expected is not null && actual != _expected.Value)
            throw _fail($"its {_expected.Algorithm} is {actual}, RECORD says {_expected.Value}");
        _verified = true;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _hasher?.Dispose();
        }
        base.Dispose(disposing);
    }
}
