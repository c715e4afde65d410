using System.Buffers;
using System.Buffers.Binary;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Writing;

/// <summary>
/// A metadata table being written: a byte stream cut into 8 KiB chunks, each compressed on its
/// own as soon as it fills (references embed the compressed position of the chunk they point
/// into, so earlier chunks must be final), and stored with a u16 length header.
/// </summary>
internal sealed class MetadataWriter : IDisposable
{
    private readonly BlockCompressor _compressor;
    private readonly byte[] _chunk = new byte[SquashFsConstants.MetadataBlockSize];
    private readonly byte[] _scratch = new byte[SquashFsConstants.MetadataBlockSize];
    private byte[] _table = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _tableLength;
    private int _chunkUsed;

    public MetadataWriter(BlockCompressor compressor) => _compressor = compressor;

    /// <summary>Compressed position (relative to the table start) of the chunk being filled.</summary>
    public long BlockPosition => _tableLength;

    /// <summary>Offset of the next byte inside the uncompressed chunk being filled.</summary>
    public int Offset => _chunkUsed;

    /// <summary>Metadata reference of the next byte written.</summary>
    public ulong Reference => SquashFsConstants.MetadataReference(_tableLength, _chunkUsed);

    /// <summary>Positions (relative to the table start) of every chunk written so far.</summary>
    public List<long> BlockPositions { get; } = [];

    public ReadOnlySpan<byte> Bytes => _table.AsSpan(0, _tableLength);

    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = Math.Min(data.Length, _chunk.Length - _chunkUsed);
            data[..n].CopyTo(_chunk.AsSpan(_chunkUsed));
            _chunkUsed += n;
            data = data[n..];
            if (_chunkUsed == _chunk.Length) FlushChunk();
        }
    }

    /// <summary>Writes the final partial chunk, if any.</summary>
    public void Finish()
    {
        if (_chunkUsed > 0) FlushChunk();
    }

    private void FlushChunk()
    {
        var source = _chunk.AsSpan(0, _chunkUsed);
        int compressed = _compressor.Compress(source, _scratch);
        ReadOnlySpan<byte> payload = compressed > 0 ? _scratch.AsSpan(0, compressed) : source;
        ushort header = compressed > 0 ? (ushort)compressed : (ushort)(SquashFsConstants.MetadataUncompressed | _chunkUsed);
        EnsureCapacity(_tableLength + 2 + payload.Length);
        BlockPositions.Add(_tableLength);
        BinaryPrimitives.WriteUInt16LittleEndian(_table.AsSpan(_tableLength), header);
        payload.CopyTo(_table.AsSpan(_tableLength + 2));
        _tableLength += 2 + payload.Length;
        _chunkUsed = 0;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _table.Length) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _table.Length * 2));
        _table.AsSpan(0, _tableLength).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_table);
        _table = bigger;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_table);
        _table = [];
    }
}

/// <summary>
/// Writes a lookup table (fragment, export, id, xattr-id): fixed-size records packed into
/// metadata blocks, immediately followed by the uncompressed u64 array of the blocks' absolute
/// positions. Returns the position of that array, which is what the superblock records.
/// </summary>
internal static class LookupTableWriter
{
    public static long Write(Stream output, long position, BlockCompressor compressor, ReadOnlySpan<byte> records)
    {
        using var table = new MetadataWriter(compressor);
        table.Write(records);
        table.Finish();
        output.Write(table.Bytes);
        long indexPosition = position + table.Bytes.Length;
        Span<byte> entry = stackalloc byte[8];
        foreach (long block in table.BlockPositions)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(entry, (ulong)(position + block));
            output.Write(entry);
        }
        return indexPosition;
    }
}
