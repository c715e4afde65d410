using System.Runtime.InteropServices;

namespace Xar.SquashFs.Writing;

public enum ImageEntryType
{
    File,
    Directory,
    Symlink,
    /// <summary>A second name for a regular file (or symlink) added earlier; <see cref="ImageEntry.LinkTarget"/> is that entry's path.</summary>
    HardLink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// <summary>
/// One entry to put into an image: what a programmatic source (a wheel being streamed, a
/// generated tree) hands the writer instead of a staging directory. Paths are relative to the
/// image root and use '/' separators; missing parent directories are created with mode 0755.
/// </summary>
public sealed class ImageEntry
{
    public required string Path { get; init; }
    public required ImageEntryType Type { get; init; }

    /// <summary>Permission bits including setuid, setgid and sticky (0..0o7777).</summary>
    public int Permissions { get; init; } = 0b111_101_101;
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    /// <summary>Seconds since the Unix epoch.</summary>
    public long ModificationTime { get; init; }

    /// <summary>Content of a <see cref="ImageEntryType.File"/>.</summary>
    public FileContent? Content { get; init; }

    /// <summary>Target of a symlink (stored verbatim), or the image path of a hard link's target.</summary>
    public string? LinkTarget { get; init; }

    public uint DeviceMajor { get; init; }
    public uint DeviceMinor { get; init; }

    /// <summary>Extended attributes, full names with their namespace prefix (user., trusted., security.).</summary>
    public IReadOnlyList<KeyValuePair<string, byte[]>>? Xattrs { get; init; }

    /// <summary>
    /// The level of the image's codec for this file's blocks (a tail in a fragment block takes the
    /// image's); null: the image's. For a large file every start reads whole, where the CPU of a
    /// higher level is paid once, at build, and reading costs the same.
    /// </summary>
    public int? CompressionLevel { get; init; }

    public static ImageEntry File(string path, FileContent content, int permissions = 0b110_100_100, long mtime = 0) =>
        new() { Path = path, Type = ImageEntryType.File, Content = content, Permissions = permissions, ModificationTime = mtime };

    public static ImageEntry Directory(string path, int permissions = 0b111_101_101, long mtime = 0) =>
        new() { Path = path, Type = ImageEntryType.Directory, Permissions = permissions, ModificationTime = mtime };

    public static ImageEntry Symlink(string path, string target, long mtime = 0) =>
        new() { Path = path, Type = ImageEntryType.Symlink, LinkTarget = target, Permissions = 0b111_111_111, ModificationTime = mtime };

    public static ImageEntry HardLink(string path, string targetPath) =>
        new() { Path = path, Type = ImageEntryType.HardLink, LinkTarget = targetPath };
}

/// <summary>
/// The bytes of a regular file. The writer opens it once (or twice, when it must hash a large
/// candidate duplicate before compressing it) and reads it sequentially.
/// </summary>
public abstract class FileContent
{
    public abstract long Length { get; }

    /// <summary>Opens the content for sequential reading from the start.</summary>
    public abstract Stream OpenRead();

    /// <summary>A human-readable origin used in error messages.</summary>
    public virtual string Description => "<stream>";

    public static FileContent FromFile(string path) => new DiskFileContent(path, new FileInfo(path).Length);
    public static FileContent FromBytes(ReadOnlyMemory<byte> bytes) => new MemoryFileContent(bytes);
    public static FileContent FromStream(Func<Stream> open, long length, string description = "<stream>") =>
        new StreamFileContent(open, length, description);
}

internal sealed class MemoryFileContent(ReadOnlyMemory<byte> bytes) : FileContent
{
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;
    public override long Length => Bytes.Length;
    public override Stream OpenRead() =>
        MemoryMarshal.TryGetArray(Bytes, out var array)
            ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
            : new MemoryStream(Bytes.ToArray(), writable: false);
    public override string Description => "<memory>";
}

internal sealed class StreamFileContent(Func<Stream> open, long length, string description) : FileContent
{
    public override long Length { get; } = length;
    public override Stream OpenRead() => open();
    public override string Description { get; } = description;
}

/// <summary>A file on the build host, read with positional reads so that several threads can share it.</summary>
internal sealed class DiskFileContent : FileContent
{
    public DiskFileContent(string path, long length) : this(NulTerminated(path), length) { }

    /// <param name="nativePath">The UTF-8 path followed by a NUL byte.</param>
    public DiskFileContent(byte[] nativePath, long length)
    {
        NativePath = nativePath;
        Length = length;
    }

    public byte[] NativePath { get; }
    public override long Length { get; }
    public string Path => System.Text.Encoding.UTF8.GetString(NativePath, 0, NativePath.Length - 1);
    public override Stream OpenRead() => new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
    public override string Description => Path;

    private static byte[] NulTerminated(string path)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
        System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }
}
