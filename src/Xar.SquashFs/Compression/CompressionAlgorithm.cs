namespace Xar.SquashFs.Compression;

/// <summary>
/// A codec as named on the command line. The numeric values are the superblock's compressor ids;
/// <see cref="None"/> is stored as gzip with every "uncompressed" flag set, as mksquashfs does.
/// </summary>
public enum CompressionAlgorithm : ushort
{
    None = 0,
    Gzip = 1,
    Lzma = 2,
    Lzo = 3,
    Xz = 4,
    Lz4 = 5,
    Zstd = 6,
}
