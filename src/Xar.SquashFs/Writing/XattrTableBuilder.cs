using System.Buffers.Binary;
using System.Text;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Writing;

/// <summary>
/// Extended attributes: each distinct set of name/value pairs is written once to the key/value
/// stream and gets one xattr id; inodes with the same set share it. Values are stored inline.
/// </summary>
internal sealed class XattrTableBuilder(BlockCompressor compressor) : IDisposable
{
    private readonly MetadataWriter _keyValues = new(compressor);
    private readonly Dictionary<string, uint> _bySet = new(StringComparer.Ordinal);
    private readonly List<(ulong Reference, uint Count, uint Size)> _ids = [];

    public bool IsEmpty => _ids.Count == 0;

    public uint Add(IReadOnlyList<KeyValuePair<string, byte[]>> set)
    {
        var serialized = new MemoryStream();
        uint count = 0, size = 0;
        Span<byte> header = stackalloc byte[4];
        foreach (var (name, value) in set)
        {
            if (!XattrNames.TryParse(name, out ushort prefix, out string suffix))
                throw new SquashFsException($"extended attribute '{name}': only user., trusted. and security. names can be stored");
            byte[] suffixBytes = Encoding.UTF8.GetBytes(suffix);
            if (suffixBytes.Length > ushort.MaxValue)
                throw new SquashFsException($"extended attribute '{name}': name too long");
            BinaryPrimitives.WriteUInt16LittleEndian(header, prefix);
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], (ushort)suffixBytes.Length);
            serialized.Write(header);
            serialized.Write(suffixBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)value.Length);
            serialized.Write(header);
            serialized.Write(value);
            count++;
            // The xattr-id "size" is what listxattr plus the values would take (format erratum 3).
            size += (uint)(Encoding.UTF8.GetByteCount(name) + 1 + value.Length);
        }
        string key = Convert.ToBase64String(serialized.GetBuffer(), 0, (int)serialized.Length);
        if (_bySet.TryGetValue(key, out uint existing)) return existing;
        uint id = (uint)_ids.Count;
        _ids.Add((_keyValues.Reference, count, size));
        _keyValues.Write(serialized.GetBuffer().AsSpan(0, (int)serialized.Length));
        _bySet.Add(key, id);
        return id;
    }

    /// <summary>Writes the key/value blocks, the xattr-id blocks and the header with its index; returns the header position.</summary>
    public long Write(Stream output, long position)
    {
        _keyValues.Finish();
        long keyValueStart = position;
        output.Write(_keyValues.Bytes);
        position += _keyValues.Bytes.Length;

        var records = new byte[_ids.Count * SquashFsConstants.XattrIdEntrySize];
        for (int i = 0; i < _ids.Count; i++)
        {
            var record = records.AsSpan(i * SquashFsConstants.XattrIdEntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(record, _ids[i].Reference);
            BinaryPrimitives.WriteUInt32LittleEndian(record[8..], _ids[i].Count);
            BinaryPrimitives.WriteUInt32LittleEndian(record[12..], _ids[i].Size);
        }
        using var idTable = new MetadataWriter(compressor);
        idTable.Write(records);
        idTable.Finish();
        output.Write(idTable.Bytes);
        long idBlocksStart = position;
        position += idTable.Bytes.Length;

        long headerPosition = position;
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)keyValueStart);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)_ids.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);
        output.Write(header);
        foreach (long block in idTable.BlockPositions)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)(idBlocksStart + block));
            output.Write(header[..8]);
        }
        return headerPosition;
    }

    public void Dispose() => _keyValues.Dispose();
}
