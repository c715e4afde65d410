using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.Win32.SafeHandles;

namespace Xar.Python.Distributions;

/// <summary>One member of a zip file as listed by its central directory.</summary>
internal sealed record ZipMember(string Name, long Length, int ExternalAttributes, long ModificationTime)
{
    public bool IsDirectory => Name.EndsWith('/');

    /// <summary>The Unix permission bits from the external attributes (their high 16 bits), 0 when the zip was not made on Unix.</summary>
    public int UnixMode => (ExternalAttributes >> 16) & 0xFFFF;

    /// <summary>Whether a Unix zip tool marked the member executable by anyone.</summary>
    public bool IsExecutable => (UnixMode & 0b001_001_001) != 0;
}

/// <summary>
/// The members of a zip file (a wheel or a zipped egg), readable from several threads at once:
/// the image writer streams file contents lazily and in parallel, and a <see cref="ZipArchive"/>
/// reads one member at a time. Each open member borrows an archive from a pool and gives it back
/// when closed, so the central directory is parsed once per concurrent reader rather than once per
/// member. Every archive reads the one descriptor opened first (with its own position): the file
/// is opened once, so what was listed, hashed (<see cref="File"/>, <see cref="ArtifactHashes"/>)
/// and read is one file even if its path is given another in the meantime.
/// </summary>
internal sealed class ZipMembers : IDisposable
{
    private readonly ConcurrentBag<ZipArchive> _idle = [];
    private readonly List<ZipArchive> _all = [];
    private readonly Lock _allLock = new();
    private bool _disposed;

    private ZipMembers(string path, SafeFileHandle file, ZipArchive first, IReadOnlyList<ZipMember> members)
    {
        Path = path;
        File = file;
        Members = members;
        _all.Add(first);
        _idle.Add(first);
    }

    public string Path { get; }

    /// <summary>The zip file, open for reading; every member is read from it.</summary>
    public SafeFileHandle File { get; }

    /// <summary>Every member, in central directory order.</summary>
    public IReadOnlyList<ZipMember> Members { get; }

    /// <summary>
    /// Opens and lists a zip file, read through <paramref name="file"/> (an open descriptor of
    /// <paramref name="path"/>, which this takes over) when given; throws <see cref="InvalidDataException"/>
    /// when it is not a readable zip.
    /// </summary>
    public static ZipMembers Open(string path, SafeFileHandle? file = null)
    {
        file ??= System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        ZipArchive? archive = null;
        try
        {
            archive = OpenArchive(file);
            var members = archive.Entries
                .Select(e => new ZipMember(e.FullName, e.Length, e.ExternalAttributes, DosTimeAsUtc(e.LastWriteTime)))
                .ToArray();
            return new ZipMembers(path, file, archive, members);
        }
        catch
        {
            archive?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens a member for reading; dispose the stream to give its archive back.</summary>
    public Stream OpenRead(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_idle.TryTake(out var archive))
        {
            archive = OpenArchive(File);
            lock (_allLock) _all.Add(archive);
        }
        try
        {
            var entry = archive.GetEntry(name) ?? throw new InvalidDataException($"{Path}: the member {name} disappeared");
            return new BorrowedStream(entry.Open(), () => _idle.Add(archive));
        }
        catch
        {
            _idle.Add(archive);
            throw;
        }
    }

    /// <summary>Reads a whole member into memory.</summary>
    public byte[] ReadAll(string name)
    {
        using var stream = OpenRead(name);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_allLock)
            foreach (var archive in _all) archive.Dispose();
        File.Dispose();
    }

    private static ZipArchive OpenArchive(SafeFileHandle file) =>
        new(new BufferedStream(new SharedFileStream(file), 1 << 16), ZipArchiveMode.Read, leaveOpen: false);

    // A zip stores local wall-clock time without a zone; reading it as UTC keeps image times the
    // same whatever the build machine's time zone is.
    private static long DosTimeAsUtc(DateTimeOffset stamp) =>
        new DateTimeOffset(DateTime.SpecifyKind(stamp.DateTime, DateTimeKind.Utc)).ToUnixTimeSeconds();

    private sealed class BorrowedStream(Stream inner, Action giveBack) : Stream
    {
        private Action? _giveBack = giveBack;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && _giveBack is { } giveBack)
            {
                _giveBack = null;
                inner.Dispose();
                giveBack();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// A read-only view of a descriptor shared with other readers: positional reads at its own
    /// position, and the descriptor is left open when the view is disposed.
    /// </summary>
    private sealed class SharedFileStream(SafeFileHandle file) : Stream
    {
        private readonly long _length = RandomAccess.GetLength(file);
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _position; set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value)); }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = RandomAccess.Read(file, buffer, _position);
            _position += read;
            return read;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
