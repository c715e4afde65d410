using System.Buffers.Binary;
using System.Text;
using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>
/// Edits an image built with uncompressed metadata (-noI -noD -noF -noX) whose inode and directory
/// tables each fit in one metadata block, so a metadata position maps to one byte offset:
/// table position + 2-byte block header + offset.
/// </summary>
internal sealed class ImagePatcher
{
    public ImagePatcher(string image)
    {
        Bytes = File.ReadAllBytes(image);
        using var reader = SquashFsImage.Open(image);
        InodeTableStart = (long)reader.Superblock.InodeTableStart;
        DirectoryTableStart = (long)reader.Superblock.DirectoryTableStart;
        if (reader.Superblock.DirectoryTableStart - reader.Superblock.InodeTableStart > 8190)
            throw new InvalidOperationException("the inode table must fit in one metadata block");
        Entries = reader.EnumerateTree().ToDictionary(e => e.Path);
    }

    public byte[] Bytes { get; }
    public long InodeTableStart { get; }
    public long DirectoryTableStart { get; }
    /// <summary>Every entry by path, decoded before patching (the reader itself is disposed).</summary>
    public Dictionary<string, SquashFsEntry> Entries { get; }

    /// <summary>Byte offset of an inode in the file.</summary>
    public int InodeOffset(string path)
    {
        ulong reference = Entries[path].InodeReference;
        return (int)(InodeTableStart + (long)(reference >> 16) + 2 + (long)(reference & 0xFFFF));
    }

    /// <summary>Byte offsets of the run header and of the entry for <paramref name="name"/> in <paramref name="directory"/>'s listing.</summary>
    public (int Header, int Entry) DirectoryEntryOffsets(string directory, string name)
    {
        var dir = Entries[directory];
        int position = (int)(dir.ListingPosition + 2 + dir.ListingOffset);
        int end = position + (int)dir.ListingSize;
        byte[] wanted = Encoding.UTF8.GetBytes(name);
        while (position < end)
        {
            int header = position;
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(position)) + 1;
            position += 12;
            for (int i = 0; i < count; i++)
            {
                int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(position + 6)) + 1;
                if (Bytes.AsSpan(position + 8, nameLength).SequenceEqual(wanted)) return (header, position);
                position += 8 + nameLength;
            }
        }
        throw new InvalidOperationException($"{name} not found in {directory}");
    }

    /// <summary>Points the directory entry <paramref name="directory"/>/<paramref name="name"/> at the inode of <paramref name="target"/>.</summary>
    public void Redirect(string directory, string name, string target)
    {
        var (header, entry) = DirectoryEntryOffsets(directory, name);
        var to = Entries[target];
        uint runBlock = BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(header + 4));
        if (runBlock != (uint)(to.InodeReference >> 16)) throw new InvalidOperationException("target inode is in another block");
        uint runBase = BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(header + 8));
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(entry), (ushort)(to.InodeReference & 0xFFFF));
        BinaryPrimitives.WriteInt16LittleEndian(Bytes.AsSpan(entry + 2), checked((short)((long)to.InodeNumber - runBase)));
        BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(entry + 4), (ushort)to.Type);
    }

    /// <summary>Overwrites a name in place (same length).</summary>
    public void Rename(string directory, string name, byte[] newName)
    {
        if (newName.Length != Encoding.UTF8.GetByteCount(name)) throw new ArgumentException("names must have the same length");
        var (_, entry) = DirectoryEntryOffsets(directory, name);
        newName.CopyTo(Bytes, entry + 8);
    }

    public void WriteUInt16(long offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan((int)offset), value);
    public void WriteUInt32(long offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan((int)offset), value);
    public void WriteUInt64(long offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Bytes.AsSpan((int)offset), value);
    public ulong ReadUInt64(long offset) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan((int)offset));

    public string Save(TempDirectory scratch, string name = "patched.sqfs")
    {
        string path = scratch.Combine(name);
        File.WriteAllBytes(path, Bytes);
        return path;
    }
}
