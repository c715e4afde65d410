using System.Buffers.Binary;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

/// <summary>One decoded directory entry; the name is in the reader's buffer until the next call.</summary>
internal readonly record struct RawDirectoryEntry(ulong InodeReference, uint InodeNumber, SquashFsEntryType Type, int NameLength);

/// <summary>
/// Walks a directory listing: runs of a 12-byte header and 1..256 entries. Checks every field,
/// that names are valid single path components, and that they strictly increase in byte order
/// (so a directory cannot hold one name twice, which extraction relies on).
/// </summary>
internal sealed class DirectoryReader
{
    private MetadataCursor _cursor;
    private long _remaining;
    private int _runLeft;
    private uint _runInodeBlock;
    private uint _runInodeBase;
    private readonly long _inodeTableLength;
    private readonly uint _inodeCount;
    private readonly byte[] _name = new byte[SquashFsConstants.MaxNameLength];
    private readonly byte[] _previous = new byte[SquashFsConstants.MaxNameLength];
    private int _previousLength = -1;

    public DirectoryReader(MetadataCursor cursor, long length, long inodeTableLength, uint inodeCount)
    {
        _cursor = cursor;
        _remaining = length;
        _inodeTableLength = inodeTableLength;
        _inodeCount = inodeCount;
    }

    /// <summary>The name of the entry last returned by <see cref="TryRead"/>.</summary>
    public ReadOnlySpan<byte> Name(in RawDirectoryEntry entry) => _name.AsSpan(0, entry.NameLength);

    public bool TryRead(out RawDirectoryEntry entry)
    {
        entry = default;
        if (_runLeft == 0)
        {
            if (_remaining == 0) return false;
            if (_remaining < 12)
                throw new SquashFsException($"{_remaining} bytes left in the listing, too few for a run header");
            Span<byte> header = stackalloc byte[12];
            _cursor.Read(header);
            _remaining -= 12;
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(header) + 1;
            _runInodeBlock = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            _runInodeBase = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            if (count is 0 or > SquashFsConstants.MaxDirectoryRunEntries)
                throw new SquashFsException($"run header says {(ulong)count} entries (1..256)");
            if (_runInodeBlock >= _inodeTableLength)
                throw new SquashFsException($"run header's inode block {_runInodeBlock} is beyond the {_inodeTableLength}-byte inode table");
            _runLeft = (int)count;
        }

        if (_remaining < 8)
            throw new SquashFsException($"{_remaining} bytes left in the listing, too few for an entry");
        Span<byte> fixedPart = stackalloc byte[8];
        _cursor.Read(fixedPart);
        ushort offset = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart);
        short delta = BinaryPrimitives.ReadInt16LittleEndian(fixedPart[2..]);
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[4..]);
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[6..]) + 1;
        _remaining -= 8;
        if (nameLength > SquashFsConstants.MaxNameLength)
            throw new SquashFsException($"entry name length {nameLength} exceeds {SquashFsConstants.MaxNameLength}");
        if (_remaining < nameLength)
            throw new SquashFsException($"entry name of {nameLength} bytes runs past the end of the listing");
        var name = _name.AsSpan(0, nameLength);
        _cursor.Read(name);
        _remaining -= nameLength;
        _runLeft--;

        string? problem = NameProblem(name);
        if (problem is not null)
            throw new SquashFsException($"entry name \"{Printable(name)}\" {problem}");
        if (_previousLength >= 0 && name.SequenceCompareTo(_previous.AsSpan(0, _previousLength)) <= 0)
            throw new SquashFsException(
                $"entry \"{Printable(name)}\" does not sort after \"{Printable(_previous.AsSpan(0, _previousLength))}\" (names must be unique and in byte order)");
        name.CopyTo(_previous);
        _previousLength = nameLength;

        if (type is 0 or > 7)
            throw new SquashFsException($"entry \"{Printable(name)}\" has type {type} (a directory entry holds a basic type 1..7)");
        if (offset >= SquashFsConstants.MetadataBlockSize)
            throw new SquashFsException($"entry \"{Printable(name)}\" has inode offset {offset} beyond a metadata block");
        long number = (long)_runInodeBase + delta;
        if (number <= 0 || number > _inodeCount)
            throw new SquashFsException($"entry \"{Printable(name)}\" has inode number {number}, outside 1..{_inodeCount}");

        entry = new RawDirectoryEntry(SquashFsConstants.MetadataReference(_runInodeBlock, offset), (uint)number, (SquashFsEntryType)type, nameLength);
        return true;
    }

    /// <summary>Why a name cannot be a single path component, or null when it can.</summary>
    internal static string? NameProblem(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty) return "is empty";
        if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) return "is a relative path component";
        if (name.Contains((byte)'/')) return "contains '/'";
        if (name.Contains((byte)0)) return "contains a NUL byte";
        return null;
    }

    /// <summary>A name for an error message: UTF-8 with control characters escaped.</summary>
    internal static string Printable(ReadOnlySpan<byte> name)
    {
        var text = System.Text.Encoding.UTF8.GetString(name);
        var builder = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (char.IsControl(c)) builder.Append($"\\x{(int)c:x2}");
            else builder.Append(c);
        }
        return builder.ToString();
    }
}
