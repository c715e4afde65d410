using System.Buffers;
using System.Buffers.Binary;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

/// <summary>
/// Where one metadata table may live: every block of it, header and payload, must lie in
/// [<see cref="Start"/>, <see cref="End"/>). Bounds come from the superblock and the next table's
/// position, so a corrupt reference cannot make a read wander into another table or off the image.
/// </summary>
internal readonly record struct TableRegion(string Name, long Start, long End)
{
    public long Length => End - Start;
}

/// <summary>One decompressed metadata block and the position of the block after it.</summary>
internal sealed class MetadataBlock(byte[] data, long next)
{
    public byte[] Data { get; } = data;
    public long Next { get; } = next;
}

/// <summary>Reads metadata blocks (2-byte header + payload) through a shared LRU cache.</summary>
internal sealed class MetadataStore
{
    private const int HeaderSize = 2;
    private readonly ImageSource _source;
    private readonly DecompressorPool _decompressors;
    private readonly LruCache<long, MetadataBlock> _cache;

    public MetadataStore(ImageSource source, DecompressorPool decompressors, long cacheBytes)
    {
        _source = source;
        _decompressors = decompressors;
        _cache = new LruCache<long, MetadataBlock>(cacheBytes);
    }

    public MetadataBlock Get(long position, in TableRegion region)
    {
        if (position < region.Start || position > region.End - HeaderSize - 1)
            throw new SquashFsException($"{region.Name}: metadata block at byte {position} lies outside the table (bytes {region.Start}..{region.End})");
        if (_cache.TryGet(position, out var cached))
        {
            // The same block may be reached through a table with a tighter end (hostile images).
            if (cached.Next > region.End)
                throw new SquashFsException($"{region.Name}: metadata block at byte {position} extends past the end of the table (byte {region.End})");
            return cached;
        }
        var block = Load(position, region);
        _cache.Add(position, block, block.Data.Length + 64);
        return block;
    }

    private MetadataBlock Load(long position, in TableRegion region)
    {
        int available = (int)Math.Min(HeaderSize + SquashFsConstants.MetadataBlockSize, region.End - position);
        byte[] raw = ArrayPool<byte>.Shared.Rent(available);
        try
        {
            _source.Read(position, raw.AsSpan(0, available), region.Name);
            ushort header = BinaryPrimitives.ReadUInt16LittleEndian(raw);
            int stored = header & 0x7FFF;
            bool compressed = (header & SquashFsConstants.MetadataUncompressed) == 0;
            if (stored == 0 || stored > SquashFsConstants.MetadataBlockSize)
                throw new SquashFsException($"{region.Name}: metadata block at byte {position} has invalid stored length {stored} (1..8192)");
            if (stored > available - HeaderSize)
                throw new SquashFsException($"{region.Name}: metadata block at byte {position} ({stored} bytes) extends past the end of the table (byte {region.End})");
            var payload = raw.AsSpan(HeaderSize, stored);
            long next = position + HeaderSize + stored;
            if (!compressed) return new MetadataBlock(payload.ToArray(), next);

            Span<byte> expanded = stackalloc byte[SquashFsConstants.MetadataBlockSize];
            var decompressor = _decompressors.Rent();
            int length;
            try
            {
                length = decompressor.Decompress(payload, expanded);
            }
            catch (SquashFsException e)
            {
                throw new SquashFsException($"{region.Name}: metadata block at byte {position}: {e.Message}", e);
            }
            finally
            {
                _decompressors.Return(decompressor);
            }
            if (length == 0)
                throw new SquashFsException($"{region.Name}: metadata block at byte {position} decompresses to nothing");
            return new MetadataBlock(expanded[..length].ToArray(), next);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    public void Clear() => _cache.Clear();
}

/// <summary>
/// A read position in a metadata stream: the metadata blocks of one table read as one byte stream
/// (inodes and directory entries straddle block boundaries). Bounded by the table's region.
/// </summary>
internal struct MetadataCursor
{
    private readonly MetadataStore _store;
    private readonly TableRegion _region;
    private MetadataBlock? _block;
    private long _blockPosition;
    private int _offset;

    /// <param name="blockPosition">Absolute image position of the block header.</param>
    /// <param name="offset">Offset inside the uncompressed block; must lie inside it.</param>
    public MetadataCursor(MetadataStore store, TableRegion region, long blockPosition, int offset)
    {
        _store = store;
        _region = region;
        _blockPosition = blockPosition;
        _offset = offset;
        _block = null;
        if (offset is < 0 or >= SquashFsConstants.MetadataBlockSize)
            throw new SquashFsException($"{region.Name}: offset {offset} inside a metadata block is beyond 8191");
    }

    /// <summary>The current position as (absolute block position, offset in the block).</summary>
    public readonly (long BlockPosition, int Offset) Position => (_blockPosition, _offset);

    public void Read(Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var data = Current();
            int n = Math.Min(data.Length - _offset, destination.Length);
            data.AsSpan(_offset, n).CopyTo(destination);
            destination = destination[n..];
            Advance(n, data.Length);
        }
    }

    public ushort ReadUInt16()
    {
        Span<byte> b = stackalloc byte[2];
        Read(b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    public uint ReadUInt32()
    {
        Span<byte> b = stackalloc byte[4];
        Read(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public ulong ReadUInt64()
    {
        Span<byte> b = stackalloc byte[8];
        Read(b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    private byte[] Current()
    {
        if (_block is null)
        {
            var block = _store.Get(_blockPosition, _region);
            if (_offset >= block.Data.Length)
                throw new SquashFsException($"{_region.Name}: offset {_offset} is beyond the {block.Data.Length} bytes of the metadata block at byte {_blockPosition}");
            _block = block;
        }
        return _block.Data;
    }

    private void Advance(int n, int blockLength)
    {
        _offset += n;
        if (_offset == blockLength)
        {
            // Move on lazily: the next block is only read if more bytes are wanted, so the last
            // item of a table never touches whatever follows it.
            _blockPosition = _block!.Next;
            _offset = 0;
            _block = null;
        }
    }
}
