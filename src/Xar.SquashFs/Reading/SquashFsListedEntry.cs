namespace Xar.SquashFs.Reading;

/// <summary>
/// One child as its directory's listing records it (<see cref="SquashFsImage.ListDirectoryRecords"/>):
/// its name, type and inode number, and its entry, null when its inode is malformed.
/// </summary>
public readonly record struct SquashFsListedEntry(ReadOnlyMemory<byte> NameBytes, SquashFsEntryType Type, uint InodeNumber, SquashFsEntry? Entry);
