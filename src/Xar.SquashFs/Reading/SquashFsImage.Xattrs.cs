using System.Buffers.Binary;
using System.Text;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

public sealed partial class SquashFsImage
{
    /// <summary>Linux limits (XATTR_NAME_MAX, XATTR_SIZE_MAX, XATTR_LIST_MAX): nothing larger can be restored.</summary>
    private const int MaxXattrName = 255;
    private const int MaxXattrValue = 65536;
    private const int MaxXattrCount = 65536;
    private const int MaxXattrNames = 65536;
    private const ushort XattrOutOfLine = 0x0100;

    private static readonly byte[][] XattrPrefixes = ["user."u8.ToArray(), "trusted."u8.ToArray(), "security."u8.ToArray()];

    /// <summary>The extended attributes of <paramref name="entry"/> (empty when it has none), names with their prefix.</summary>
    public IReadOnlyList<SquashFsXattr> GetXattrs(SquashFsEntry entry)
    {
        CheckEntry(entry, null);
        if (entry.XattrIndex is not { } index) return [];
        try
        {
            Span<byte> record = stackalloc byte[SquashFsConstants.XattrIdEntrySize];
            _xattrIdTable!.ReadRecord(_metadata, index, record);
            ulong reference = BinaryPrimitives.ReadUInt64LittleEndian(record);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
            if (count > MaxXattrCount)
                throw new SquashFsException($"xattr id {index} claims {count} attributes (at most {MaxXattrCount})");
            var cursor = XattrCursor(reference, $"xattr id {index}");
            var result = new List<SquashFsXattr>();
            var outOfLine = new Dictionary<ulong, byte[]>();
            long namesBytes = 0;
            for (uint i = 0; i < count; i++)
            {
                var xattr = ReadXattr(ref cursor, index, i, outOfLine);
                // Each name with its NUL, as listxattr returns them; a longer list cannot be restored.
                namesBytes += xattr.NameBytes.Length + 1;
                if (namesBytes > MaxXattrNames)
                    throw new SquashFsException($"xattr id {index}: the names of its first {i + 1} attributes take {namesBytes} bytes, more than the {MaxXattrNames} Linux lists for a file");
                result.Add(xattr);
            }
            return result;
        }
        catch (SquashFsException e)
        {
            throw new SquashFsException($"xattrs of '{entry.Path}' (inode {entry.InodeNumber}): {e.Message}", e);
        }
    }

    private MetadataCursor XattrCursor(ulong reference, string what)
    {
        long block = SquashFsConstants.ReferenceBlock(reference);
        int offset = SquashFsConstants.ReferenceOffset(reference);
        if ((reference >> 48) != 0 || block >= _xattrRegion.Length)
            throw new SquashFsException($"{what}: reference 0x{reference:x} lies outside the {_xattrRegion.Length}-byte key/value area");
        return new MetadataCursor(_metadata, _xattrRegion, _xattrRegion.Start + block, offset);
    }

    /// <summary>
    /// Reads one entry. Entries may share an out-of-line value (that is what it is for), so each
    /// one is read once per list, through <paramref name="outOfLine"/>: a list naming one value
    /// many times then costs its size once, not once per name.
    /// </summary>
    private SquashFsXattr ReadXattr(ref MetadataCursor cursor, uint index, uint number, Dictionary<ulong, byte[]> outOfLine)
    {
        ushort type = cursor.ReadUInt16();
        int nameSize = cursor.ReadUInt16();
        int prefixId = type & 0xFF;
        if (prefixId >= XattrPrefixes.Length || (type & ~(0xFF | XattrOutOfLine)) != 0)
            throw new SquashFsException($"xattr {number} of id {index} has unknown type 0x{type:x4}");
        byte[] prefix = XattrPrefixes[prefixId];
        if (nameSize == 0 || prefix.Length + nameSize > MaxXattrName)
            throw new SquashFsException($"xattr {number} of id {index} has a name of {nameSize} bytes (1..{MaxXattrName - prefix.Length})");
        var name = new byte[prefix.Length + nameSize];
        prefix.CopyTo(name, 0);
        cursor.Read(name.AsSpan(prefix.Length));
        if (name.AsSpan(prefix.Length).Contains((byte)0))
            throw new SquashFsException($"xattr {number} of id {index} has a name containing NUL");

        uint valueSize = cursor.ReadUInt32();
        byte[] value;
        if ((type & XattrOutOfLine) != 0)
        {
            if (valueSize != 8)
                throw new SquashFsException($"xattr {number} of id {index} is stored out of line but its reference is {valueSize} bytes, not 8");
            ulong valueReference = cursor.ReadUInt64();
            if (outOfLine.TryGetValue(valueReference, out var shared))
            {
                value = shared;
            }
            else
            {
                var valueCursor = XattrCursor(valueReference, $"out-of-line value of xattr {number} of id {index}");
                value = ReadXattrValue(ref valueCursor, valueCursor.ReadUInt32(), index, number);
                outOfLine.Add(valueReference, value);
            }
        }
        else
        {
            value = ReadXattrValue(ref cursor, valueSize, index, number);
        }
        return new SquashFsXattr(Encoding.UTF8.GetString(name), name, value);
    }

    private static byte[] ReadXattrValue(ref MetadataCursor cursor, uint size, uint index, uint number)
    {
        if (size > MaxXattrValue)
            throw new SquashFsException($"xattr {number} of id {index} has a {size}-byte value (at most {MaxXattrValue})");
        var value = new byte[size];
        cursor.Read(value);
        return value;
    }
}
