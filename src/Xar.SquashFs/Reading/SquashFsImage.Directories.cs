using System.Text;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Reading;

public sealed partial class SquashFsImage
{
    /// <summary>Decodes every entry of <paramref name="directory"/> in listing order.</summary>
    internal void ReadDirectory(SquashFsEntry directory, Action<SquashFsEntry> add)
    {
        if (directory.ListingSize == 0) return;
        var reader = OpenListing(directory, directory.ListingPosition, directory.ListingOffset, directory.ListingSize);
        while (NextEntry(directory, reader, out var raw))
            add(DecodeChild(directory, reader, raw));
    }

    /// <summary>
    /// The entries of <paramref name="directory"/> in listing order as its listing records them,
    /// each with its decoded entry, or none where that child's inode is malformed: a listing that
    /// names every child as the kernel's readdir does (it reads no child's inode), where
    /// <see cref="ListDirectory"/> fails whole. A malformed listing itself still throws.
    /// </summary>
    public IReadOnlyList<SquashFsListedEntry> ListDirectoryRecords(SquashFsEntry directory)
    {
        CheckEntry(directory, SquashFsEntryType.Directory);
        var records = new List<SquashFsListedEntry>();
        if (directory.ListingSize == 0) return records;
        var reader = OpenListing(directory, directory.ListingPosition, directory.ListingOffset, directory.ListingSize);
        while (NextEntry(directory, reader, out var raw))
        {
            SquashFsEntry? entry;
            try
            {
                entry = DecodeChild(directory, reader, raw);
            }
            catch (SquashFsException)
            {
                entry = null;
            }
            records.Add(new SquashFsListedEntry(reader.Name(raw).ToArray(), raw.Type, raw.InodeNumber, entry));
        }
        return records;
    }

    private SquashFsEntry? LookupChild(SquashFsEntry directory, ReadOnlySpan<byte> name)
    {
        if (directory.ListingSize == 0) return null;
        var reader = directory.DirectoryIndexCount > 0
            ? SeekWithIndex(directory, name)
            : OpenListing(directory, directory.ListingPosition, directory.ListingOffset, directory.ListingSize);
        while (NextEntry(directory, reader, out var raw))
        {
            int order = reader.Name(raw).SequenceCompareTo(name);
            if (order == 0) return DecodeChild(directory, reader, raw);
            // Listings are sorted (the reader enforces it), so the name cannot come later.
            if (order > 0) return null;
        }
        return null;
    }

    private DirectoryReader OpenListing(SquashFsEntry directory, long blockPosition, int offset, long length)
    {
        try
        {
            var cursor = new MetadataCursor(_metadata, _directoryRegion, blockPosition, offset);
            return new DirectoryReader(cursor, length, _inodeRegion.Length, InodeCount);
        }
        catch (SquashFsException e)
        {
            throw ListingError(directory, e);
        }
    }

    private static bool NextEntry(SquashFsEntry directory, DirectoryReader reader, out RawDirectoryEntry raw)
    {
        try
        {
            bool found = reader.TryRead(out raw);
            if (found && raw.InodeReference == directory.InodeReference)
                throw new SquashFsException($"entry \"{DirectoryReader.Printable(reader.Name(raw))}\" is the directory itself");
            return found;
        }
        catch (SquashFsException e)
        {
            throw ListingError(directory, e);
        }
    }

    private static SquashFsException ListingError(SquashFsEntry directory, SquashFsException e) =>
        new($"directory table: listing of '{directory.Path}' (inode {directory.InodeNumber}, listing at byte {directory.ListingPosition} offset {directory.ListingOffset}): {e.Message}", e);

    private SquashFsEntry DecodeChild(SquashFsEntry directory, DirectoryReader reader, in RawDirectoryEntry raw)
    {
        byte[] nameBytes = reader.Name(raw).ToArray();
        string name = Encoding.UTF8.GetString(nameBytes);
        string path = directory.Path switch
        {
            "" => "",
            "/" => "/" + name,
            var parent => parent + "/" + name,
        };
        return DecodeInode(raw.InodeReference, nameBytes, name, path, raw.Type, raw.InodeNumber);
    }

    /// <summary>
    /// Positions a reader at the run that can contain <paramref name="name"/> using the directory
    /// index: the last index entry whose name sorts at or before it (as the kernel does). Index
    /// positions assume every metadata block but the last expands to 8 KiB, as the format requires.
    /// </summary>
    private DirectoryReader SeekWithIndex(SquashFsEntry directory, ReadOnlySpan<byte> name)
    {
        long bestIndex = -1;
        uint bestBlock = 0;
        try
        {
            var cursor = new MetadataCursor(_metadata, _inodeRegion, directory.DirectoryIndexPosition, directory.DirectoryIndexOffset);
            Span<byte> indexName = stackalloc byte[SquashFsConstants.MaxNameLength];
            long previous = -1;
            for (int i = 0; i < directory.DirectoryIndexCount; i++)
            {
                uint index = cursor.ReadUInt32();
                uint startBlock = cursor.ReadUInt32();
                uint nameSize = cursor.ReadUInt32();
                if (nameSize >= SquashFsConstants.MaxNameLength)
                    throw new SquashFsException($"directory index entry {i}: name length {(ulong)nameSize + 1} exceeds {SquashFsConstants.MaxNameLength}");
                var entryName = indexName[..((int)nameSize + 1)];
                cursor.Read(entryName);
                if (index <= previous || index >= directory.ListingSize || startBlock >= _directoryRegion.Length)
                    throw new SquashFsException(
                        $"directory index entry {i}: listing offset {index} / block {startBlock} is out of order or outside the listing ({directory.ListingSize} bytes)");
                previous = index;
                if (entryName.SequenceCompareTo(name) > 0) break;
                bestIndex = index;
                bestBlock = startBlock;
            }
        }
        catch (SquashFsException e)
        {
            throw new SquashFsException($"inode table: directory index of '{directory.Path}' (inode {directory.InodeNumber}): {e.Message}", e);
        }
        if (bestIndex < 0)
            return OpenListing(directory, directory.ListingPosition, directory.ListingOffset, directory.ListingSize);
        int offset = (int)((bestIndex + directory.ListingOffset) % SquashFsConstants.MetadataBlockSize);
        return OpenListing(directory, _directoryRegion.Start + bestBlock, offset, directory.ListingSize - bestIndex);
    }
}
