using System.Buffers.Binary;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

/// <summary>
/// A file's data blocks: the block-size words and the absolute position of each block, computed
/// once so that reading block i does not rescan the list (the kernel's meta-index, squashfuse's
/// blockidx).
/// </summary>
internal sealed class FileLayout(uint[] words, long[] starts)
{
    public static readonly FileLayout Empty = new([], []);

    public uint[] Words { get; } = words;
    public long[] Starts { get; } = starts;
}

public sealed partial class SquashFsImage
{
    private const uint BlockWordReservedBits = 0xFE00_0000;

    /// <summary>
    /// Reads up to <paramref name="buffer"/>.Length bytes of a regular file starting at
    /// <paramref name="position"/>; returns the number read (0 at or past the end). Any range works:
    /// data blocks, sparse blocks, the fragment tail.
    /// </summary>
    public int ReadFile(SquashFsEntry file, long position, Span<byte> buffer)
    {
        CheckEntry(file, SquashFsEntryType.RegularFile);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        if (position >= file.Size || buffer.IsEmpty) return 0;
        int count = (int)Math.Min(buffer.Length, file.Size - position);
        ReadRange(file, GetLayout(file), position, buffer[..count]);
        return count;
    }

    /// <summary>A read-only, seekable stream over a regular file's content.</summary>
    public Stream OpenRead(SquashFsEntry file)
    {
        CheckEntry(file, SquashFsEntryType.RegularFile);
        return new SquashFsFileStream(this, file, GetLayout(file));
    }

    /// <summary>
    /// How a regular file's bytes are stored: the length of its data blocks in the image
    /// (compressed as stored; shared by the files deduplicated onto them), and the fragment block
    /// holding its tail with the tail's length (null and 0 without one). For size reports.
    /// </summary>
    public (long BlockStart, long BlockBytes, uint? Fragment, int FragmentOffset, int TailLength) StoredLayout(SquashFsEntry file)
    {
        CheckEntry(file, SquashFsEntryType.RegularFile);
        long bytes = 0;
        foreach (uint word in GetLayout(file).Words)
            bytes += word & SquashFsConstants.DataSizeMask;
        return (file.BlocksStart, bytes, file.HasFragment ? file.FragmentIndex : null, file.FragmentOffset, TailLength(file));
    }

    /// <summary>The stored (compressed) length of fragment block <paramref name="index"/>.</summary>
    public int FragmentStoredLength(uint index)
    {
        if (_fragmentTable is null || index >= FragmentCount)
            throw new SquashFsException($"fragment {index} is not in the fragment table ({FragmentCount} entries)");
        return (int)(ReadFragmentEntry(index).Word & SquashFsConstants.DataSizeMask);
    }

    internal FileLayout GetLayout(SquashFsEntry file)
    {
        if (file.BlockCount == 0) return FileLayout.Empty;
        if (_layouts.TryGet(file.InodeReference, out var cached)) return cached;
        var layout = ReadLayout(file);
        _layouts.Add(file.InodeReference, layout, layout.Words.Length);
        return layout;
    }

    /// <summary>Reads and checks a file's block list (uncached; extraction reads each file once).</summary>
    internal FileLayout ReadLayout(SquashFsEntry file)
    {
        if (file.BlockCount == 0) return FileLayout.Empty;
        try
        {
            var cursor = new MetadataCursor(_metadata, _inodeRegion, file.BlockListPosition, file.BlockListOffset);
            int count = file.BlockCount;
            // Grow with what is actually read, so an inflated file size fails on the missing words
            // before it can cause a large allocation.
            var words = new uint[Math.Min(count, 4096)];
            var raw = new byte[4 * 1024];
            int read = 0;
            while (read < count)
            {
                int chunk = Math.Min(count - read, raw.Length / 4);
                cursor.Read(raw.AsSpan(0, chunk * 4));
                if (read + chunk > words.Length)
                    Array.Resize(ref words, (int)Math.Min(count, Math.Max(words.Length * 2L, read + chunk)));
                for (int i = 0; i < chunk; i++)
                    words[read + i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
                read += chunk;
            }

            var starts = new long[count];
            long position = file.BlocksStart;
            bool anyData = false;
            for (int i = 0; i < count; i++)
            {
                uint word = words[i];
                starts[i] = position;
                if (word == 0) continue;
                int stored = (int)(word & SquashFsConstants.DataSizeMask);
                int expected = BlockLength(file, i);
                if ((word & BlockWordReservedBits) != 0 || stored == 0 || stored > _blockSize
                    || ((word & SquashFsConstants.DataUncompressed) != 0 && stored != expected))
                    throw new SquashFsException($"block {i} has invalid size word 0x{word:x8} (block of {expected} bytes)");
                if (!anyData && position < _dataStart)
                    throw new SquashFsException($"data starts at byte {position}, inside the superblock or compressor options");
                anyData = true;
                if (position > _inodeRegion.Start - stored)
                    throw new SquashFsException($"block {i} ({stored} bytes at byte {position}) extends into the inode table (byte {_inodeRegion.Start})");
                position += stored;
            }
            return new FileLayout(words, starts);
        }
        catch (SquashFsException e)
        {
            throw FileError(file, e);
        }
    }

    internal static SquashFsException FileError(SquashFsEntry file, SquashFsException e) =>
        new($"file '{file.Path}' (inode {file.InodeNumber}): {e.Message}", e);

    /// <summary>Uncompressed length of data block <paramref name="index"/> (the last one may be short).</summary>
    internal int BlockLength(SquashFsEntry file, long index) =>
        (int)Math.Min(_blockSize, file.Size - (index << _blockLog));

    /// <summary>Length of the part stored in the fragment (0 when the file has none).</summary>
    internal int TailLength(SquashFsEntry file) =>
        file.HasFragment ? (int)(file.Size - ((long)file.BlockCount << _blockLog)) : 0;

    internal void ReadRange(SquashFsEntry file, FileLayout layout, long position, Span<byte> destination)
    {
        try
        {
            while (!destination.IsEmpty)
            {
                long block = position >> _blockLog;
                int inBlock = (int)(position & (_blockSize - 1));
                int n;
                if (block < file.BlockCount)
                {
                    int length = BlockLength(file, block);
                    n = Math.Min(length - inBlock, destination.Length);
                    uint word = layout.Words[block];
                    if (word == 0)
                        destination[..n].Clear();
                    else if (n == length && !_dataCache.Contains(layout.Starts[block]))
                        // A whole block goes straight into the destination, unless prefetched (or being prefetched).
                        LoadDataBlock(layout.Starts[block], word, destination[..n]);
                    else
                    {
                        using var lease = AcquireDataBlock(layout.Starts[block], word, length);
                        lease.Data.Slice(inBlock, n).CopyTo(destination);
                    }
                }
                else
                {
                    n = Math.Min(TailLength(file) - inBlock, destination.Length);
                    using var lease = AcquireFragment(file);
                    lease.Data.Slice(file.FragmentOffset + inBlock, n).CopyTo(destination);
                }
                destination = destination[n..];
                position += n;
            }
        }
        catch (SquashFsException e)
        {
            throw FileError(file, e);
        }
    }

    /// <summary>
    /// Decompresses data block <paramref name="index"/> of <paramref name="file"/> into the data
    /// cache, unless it is cached or being loaded already, so that a later read finds it ready (the
    /// FUSE server's prefetch). Index <see cref="SquashFsEntry.BlockCount"/> is the file's fragment
    /// tail: its fragment block goes into the fragment cache. Sparse blocks are nothing to load.
    /// </summary>
    /// <returns>False when there was nothing to load: cached, in flight, sparse or past the blocks.</returns>
    /// <exception cref="SquashFsException">The block list, the fragment entry or the block is malformed.</exception>
    public bool CacheDataBlock(SquashFsEntry file, long index)
    {
        CheckEntry(file, SquashFsEntryType.RegularFile);
        if (index < 0 || index > file.BlockCount || (index == file.BlockCount && !file.HasFragment)) return false;
        try
        {
            if (index == file.BlockCount)
            {
                var entry = ReadFragmentEntry(file.FragmentIndex);
                if (_fragmentCache.Contains(entry.Position)) return false;
                AcquireFragment(file, entry).Dispose();
                return true;
            }
            FileLayout layout = GetLayout(file);
            uint word = layout.Words[index];
            if (word == 0 || _dataCache.Contains(layout.Starts[index])) return false;
            AcquireDataBlock(layout.Starts[index], word, BlockLength(file, index)).Dispose();
            return true;
        }
        catch (SquashFsException e)
        {
            throw FileError(file, e);
        }
    }

    private readonly record struct DataBlockRequest(SquashFsImage Image, long Position, uint Word);

    private BlockLease AcquireDataBlock(long position, uint word, int length)
    {
        var lease = _dataCache.Acquire(position, length, new DataBlockRequest(this, position, word),
            static (request, destination) => request.Image.LoadDataBlock(request.Position, request.Word, destination));
        int cached = lease.Data.Length;
        if (cached != length)
        {
            // Two files claim the block at this position with different lengths.
            lease.Dispose();
            throw new SquashFsException($"data block at byte {position} is {cached} bytes, but the file expects {length}");
        }
        return lease;
    }

    /// <summary>
    /// Reads the data block described by <paramref name="word"/> at <paramref name="position"/>
    /// into <paramref name="destination"/>, which is exactly the expected uncompressed length.
    /// </summary>
    internal int LoadDataBlock(long position, uint word, Span<byte> destination)
    {
        int stored = (int)(word & SquashFsConstants.DataSizeMask);
        if ((word & SquashFsConstants.DataUncompressed) != 0)
        {
            _source.Read(position, destination, "data block");
            return destination.Length;
        }
        int length = Decompress(position, stored, destination, "data block");
        if (length != destination.Length)
            throw new SquashFsException($"data block at byte {position} decompresses to {length} bytes, expected {destination.Length}");
        return length;
    }

    /// <summary>Reads <paramref name="stored"/> compressed bytes at <paramref name="position"/> and decompresses them.</summary>
    private int Decompress(long position, int stored, Span<byte> destination, string what)
    {
        byte[] compressed = _buffers.Rent(); // stored ≤ the block size: checked with the block's word
        var decompressor = _decompressors.Rent();
        try
        {
            _source.Read(position, compressed.AsSpan(0, stored), what);
            return decompressor.Decompress(compressed.AsSpan(0, stored), destination);
        }
        catch (SquashFsException e)
        {
            throw new SquashFsException($"{what} at byte {position} ({stored} bytes): {e.Message}", e);
        }
        finally
        {
            _decompressors.Return(decompressor);
            _buffers.Return(compressed);
        }
    }

    private readonly record struct FragmentRequest(SquashFsImage Image, long Position, uint Word);

    /// <summary>The decompressed fragment block holding <paramref name="file"/>'s tail.</summary>
    internal BlockLease AcquireFragment(SquashFsEntry file) => AcquireFragment(file, ReadFragmentEntry(file.FragmentIndex));

    /// <summary>The fragment block at <paramref name="entry"/> (the fragment table's entry for <paramref name="file"/>), decompressed.</summary>
    private BlockLease AcquireFragment(SquashFsEntry file, (long Position, uint Word) entry)
    {
        var (position, word) = entry;
        var lease = _fragmentCache.Acquire(position, _blockSize, new FragmentRequest(this, position, word),
            static (request, destination) => request.Image.LoadFragmentBlock(request.Position, request.Word, destination));
        int tail = TailLength(file);
        if (file.FragmentOffset + tail > lease.Data.Length)
        {
            int available = lease.Data.Length;
            lease.Dispose();
            throw new SquashFsException(
                $"tail of {tail} bytes at offset {file.FragmentOffset} lies beyond the {available}-byte fragment block {file.FragmentIndex}");
        }
        return lease;
    }

    private int LoadFragmentBlock(long position, uint word, Span<byte> destination)
    {
        int stored = (int)(word & SquashFsConstants.DataSizeMask);
        if ((word & SquashFsConstants.DataUncompressed) != 0)
        {
            _source.Read(position, destination[..stored], "fragment block");
            return stored;
        }
        return Decompress(position, stored, destination, "fragment block");
    }

    private (long Position, uint Word) ReadFragmentEntry(uint index)
    {
        Span<byte> record = stackalloc byte[SquashFsConstants.FragmentEntrySize];
        _fragmentTable!.ReadRecord(_metadata, index, record);
        ulong start = BinaryPrimitives.ReadUInt64LittleEndian(record);
        uint word = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
        int stored = (int)(word & SquashFsConstants.DataSizeMask);
        if ((word & BlockWordReservedBits) != 0 || stored == 0 || stored > _blockSize
            || start < (ulong)_dataStart || start > (ulong)(_inodeRegion.Start - stored))
            throw new SquashFsException(
                $"fragment table: entry {index} (block at byte {start}, size word 0x{word:x8}) is invalid or lies outside the data area (bytes {_dataStart}..{_inodeRegion.Start})");
        return ((long)start, word);
    }
}
