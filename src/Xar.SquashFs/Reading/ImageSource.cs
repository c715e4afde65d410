using Microsoft.Win32.SafeHandles;
using Xar.SquashFs.Compression;

namespace Xar.SquashFs.Reading;

/// <summary>
/// Positional reads of the image (pread through <see cref="RandomAccess"/>), which may start at any
/// offset inside a larger file. Thread-safe: there is no shared file position.
/// </summary>
internal sealed class ImageSource : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly bool _ownsHandle;
    private readonly long _offset;

    public ImageSource(SafeFileHandle handle, long offset, bool ownsHandle)
    {
        _handle = handle;
        _offset = offset;
        _ownsHandle = ownsHandle;
        Available = RandomAccess.GetLength(handle) - offset;
    }

    /// <summary>Bytes from the image start to the end of the file.</summary>
    public long Available { get; }

    /// <summary>
    /// The end of the image as the superblock declares it (bytes_used); set once it is validated,
    /// and every read must stay below it.
    /// </summary>
    public long End { get; set; } = long.MaxValue;

    /// <summary>Fills <paramref name="destination"/> from image position <paramref name="position"/>.</summary>
    public void Read(long position, Span<byte> destination, string what)
    {
        if (position < 0 || position > End || destination.Length > End - position)
            throw new SquashFsException($"{what}: {destination.Length} bytes at byte {position} lie beyond the end of the image ({End} bytes)");
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], _offset + position + done);
            if (n == 0)
                throw new SquashFsException($"{what}: unexpected end of file at byte {position + done} (the file was truncated while open?)");
            done += n;
        }
    }

    public void Dispose()
    {
        if (_ownsHandle) _handle.Dispose();
    }
}

/// <summary>
/// Per-thread decompressors: codec state is not thread-safe, so each concurrent read rents one and
/// returns it. Idle instances are kept (bounded) to reuse their native state.
/// </summary>
internal sealed class DecompressorPool : IDisposable
{
    private readonly CompressionSettings _settings;
    private readonly Stack<BlockDecompressor> _idle = new();
    private readonly int _maxIdle = Math.Max(4, Environment.ProcessorCount * 2);
    private bool _disposed;

    public DecompressorPool(CompressionSettings settings)
    {
        _settings = settings;
        // Fail at open, not at the first read, when the codec is unavailable.
        Return(settings.CreateDecompressor());
    }

    public BlockDecompressor Rent()
    {
        lock (_idle)
        {
            if (_idle.TryPop(out var decompressor)) return decompressor;
        }
        return _settings.CreateDecompressor();
    }

    public void Return(BlockDecompressor decompressor)
    {
        lock (_idle)
        {
            if (!_disposed && _idle.Count < _maxIdle)
            {
                _idle.Push(decompressor);
                return;
            }
        }
        decompressor.Dispose();
    }

    public void Dispose()
    {
        lock (_idle)
        {
            _disposed = true;
            while (_idle.TryPop(out var decompressor)) decompressor.Dispose();
        }
    }
}
