using System.Buffers.Binary;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

/// <summary>
/// A fixed-record table (fragment, export, id, xattr id): records packed into metadata blocks,
/// located through an uncompressed array of u64 block positions (the "index").
/// </summary>
internal sealed class LookupTable
{
    private readonly long[] _blocks;
    private readonly int _recordSize;
    private readonly TableRegion _region;

    private LookupTable(long[] blocks, int recordSize, long count, TableRegion region)
    {
        _blocks = blocks;
        _recordSize = recordSize;
        Count = count;
        _region = region;
    }

    public long Count { get; }

    /// <summary>Position of the first metadata block, or the index position when the table is empty.</summary>
    public long FirstBlock => _blocks.Length > 0 ? _blocks[0] : _region.End;

    /// <summary>
    /// Reads and validates the index: it must lie inside the image, and the block positions must
    /// increase, lie at or after <paramref name="lowerBound"/> and below the index, and be at most
    /// one full metadata block apart (the kernel's checks). The index is as long as the record
    /// count says, and it must be present in the file, so its size is bounded by the image's.
    /// </summary>
    public static LookupTable Load(ImageSource source, string name, long indexPosition, long count, int recordSize, long lowerBound, long end)
    {
        long blockCount = (count * recordSize + SquashFsConstants.MetadataBlockSize - 1) / SquashFsConstants.MetadataBlockSize;
        if (indexPosition < lowerBound || indexPosition > end || blockCount * 8 > end - indexPosition)
            throw new SquashFsException(
                $"{name} table: index of {blockCount} block positions at byte {indexPosition} does not fit between byte {lowerBound} and byte {end} ({count} records)");
        var raw = new byte[blockCount * 8];
        source.Read(indexPosition, raw, $"{name} table index");
        var blocks = new long[blockCount];
        long previous = -1;
        for (int i = 0; i < blocks.Length; i++)
        {
            ulong position = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
            const long maxStep = SquashFsConstants.MetadataBlockSize + 2;
            // A block needs its 2-byte header and at least one payload byte before the index.
            if (position < (ulong)lowerBound || position > (ulong)indexPosition - 3
                || (previous >= 0 && ((long)position <= previous || (long)position - previous > maxStep)))
                throw new SquashFsException(
                    $"{name} table: index entry {i} (at byte {indexPosition + i * 8}) points at byte {position}, outside bytes {lowerBound}..{indexPosition} or out of order");
            blocks[i] = previous = (long)position;
        }
        return new LookupTable(blocks, recordSize, count, new TableRegion($"{name} table", lowerBound, indexPosition));
    }

    /// <summary>Copies record <paramref name="index"/> (already checked to be below <see cref="Count"/>).</summary>
    public void ReadRecord(MetadataStore store, long index, Span<byte> destination)
    {
        long byteOffset = index * _recordSize;
        int block = (int)(byteOffset / SquashFsConstants.MetadataBlockSize);
        int offset = (int)(byteOffset % SquashFsConstants.MetadataBlockSize);
        var data = store.Get(_blocks[block], _region).Data;
        if (offset + _recordSize > data.Length)
            throw new SquashFsException(
                $"{_region.Name}: record {index} lies beyond the {data.Length} bytes of metadata block {block} (at byte {_blocks[block]})");
        data.AsSpan(offset, _recordSize).CopyTo(destination);
    }
}
