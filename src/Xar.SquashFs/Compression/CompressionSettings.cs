using System.Buffers.Binary;
using System.IO.Compression;

namespace Xar.SquashFs.Compression;

/// <summary>
/// A codec and its parameters: what the superblock's compressor id and the optional compressor
/// options block say, and a factory for per-thread compressors and decompressors.
/// </summary>
public sealed record CompressionSettings
{
    public CompressionAlgorithm Algorithm { get; init; }

    /// <summary>
    /// gzip 1..9 (default 9); zstd 1..22 (default 15, the format's default); xz preset 0..9
    /// (default 6; not recorded in the image); lz4 0 = fast (default), 1..12 = high-compression
    /// level (recorded as the HC flag). Ignored for none.
    /// </summary>
    public int Level { get; init; }

    /// <summary>xz dictionary size; null means the block size (the format's default).</summary>
    public int? XzDictionarySize { get; init; }

    /// <summary>xz BCJ filter bits as stored in the options block (0x1 x86 … 0x20 sparc).</summary>
    public uint XzFilters { get; init; }

    /// <summary>gzip strategy bits as stored in the options block (0 or 0x1 = default).</summary>
    public ushort GzipStrategies { get; init; }

    public const int GzipDefaultLevel = 9;
    public const int ZstdDefaultLevel = 15;
    public const int XzDefaultPreset = 6;

    public static CompressionSettings For(CompressionAlgorithm algorithm, int? level = null)
    {
        int resolved = level ?? DefaultLevel(algorithm);
        (int min, int max) = LevelRange(algorithm);
        if (resolved < min || resolved > max)
            throw new ArgumentOutOfRangeException(nameof(level), resolved,
                $"{Name(algorithm)} level must be between {min} and {max}");
        return new CompressionSettings { Algorithm = algorithm, Level = resolved };
    }

    public static int DefaultLevel(CompressionAlgorithm algorithm) => algorithm switch
    {
        CompressionAlgorithm.Gzip => GzipDefaultLevel,
        CompressionAlgorithm.Zstd => ZstdDefaultLevel,
        CompressionAlgorithm.Xz or CompressionAlgorithm.Lzma => XzDefaultPreset,
        _ => 0,
    };

    public static (int Min, int Max) LevelRange(CompressionAlgorithm algorithm) => algorithm switch
    {
        CompressionAlgorithm.Gzip => (1, 9),
        CompressionAlgorithm.Zstd => (1, 22),
        CompressionAlgorithm.Xz or CompressionAlgorithm.Lzma => (0, 9),
        CompressionAlgorithm.Lz4 => (0, 12),
        _ => (0, 0),
    };

    public static string Name(CompressionAlgorithm algorithm) => algorithm.ToString().ToLowerInvariant();

    public static bool IsKnownCompressorId(ushort id) => id is >= 1 and <= 6;

    /// <summary>The superblock compressor id; "none" is written as gzip, as mksquashfs -noI -noD -noF -noX does.</summary>
    public ushort CompressorId => Algorithm == CompressionAlgorithm.None ? (ushort)CompressionAlgorithm.Gzip : (ushort)Algorithm;

    public bool Compresses => Algorithm != CompressionAlgorithm.None;

    /// <summary>
    /// The compressor options payload, or null when every parameter is the format's default
    /// (mksquashfs omits the block then, except for lz4, which always has it).
    /// </summary>
    public byte[]? EncodeOptions(int blockSize)
    {
        switch (Algorithm)
        {
            case CompressionAlgorithm.Gzip when Level != GzipDefaultLevel || GzipStrategies > 1:
            {
                var payload = new byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)Level);
                BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(4), 15);
                BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(6), GzipStrategies);
                return payload;
            }
            case CompressionAlgorithm.Zstd when Level != ZstdDefaultLevel:
            {
                var payload = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)Level);
                return payload;
            }
            case CompressionAlgorithm.Xz when (XzDictionarySize is { } dict && dict != blockSize) || XzFilters != 0:
            {
                var payload = new byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)(XzDictionarySize ?? blockSize));
                BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), XzFilters);
                return payload;
            }
            case CompressionAlgorithm.Lz4:
            {
                var payload = new byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(payload, 1);
                BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), Level > 0 ? 1u : 0u);
                return payload;
            }
            default:
                return null;
        }
    }

    /// <summary>
    /// Settings as an image records them: the compressor id and the options payload (empty when
    /// the superblock has no options flag). Parameters that only matter when compressing and are
    /// not recorded (the xz preset) get their defaults.
    /// </summary>
    public static CompressionSettings Decode(ushort compressorId, ReadOnlySpan<byte> options)
    {
        if (!IsKnownCompressorId(compressorId))
            throw new SquashFsException($"unknown compressor id {compressorId}");
        var algorithm = (CompressionAlgorithm)compressorId;
        var settings = For(algorithm);
        if (options.IsEmpty) return settings;
        switch (algorithm)
        {
            case CompressionAlgorithm.Gzip when options.Length >= 8:
                return settings with
                {
                    Level = (int)Math.Clamp(BinaryPrimitives.ReadUInt32LittleEndian(options), 1u, 9u),
                    GzipStrategies = BinaryPrimitives.ReadUInt16LittleEndian(options[6..]),
                };
            case CompressionAlgorithm.Zstd when options.Length >= 4:
                return settings with { Level = (int)Math.Clamp(BinaryPrimitives.ReadUInt32LittleEndian(options), 1u, 22u) };
            case CompressionAlgorithm.Xz when options.Length >= 8:
                return settings with
                {
                    XzDictionarySize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(options), (uint)int.MaxValue),
                    XzFilters = BinaryPrimitives.ReadUInt32LittleEndian(options[4..]),
                };
            case CompressionAlgorithm.Lz4 when options.Length >= 8:
                return settings with { Level = (BinaryPrimitives.ReadUInt32LittleEndian(options[4..]) & 1) != 0 ? 9 : 0 };
            default:
                return settings;
        }
    }

    /// <summary>
    /// A compressor for one worker thread. Native codecs load their system library here, so a
    /// missing one is reported before any block is written.
    /// </summary>
    public BlockCompressor CreateCompressor(int blockSize) => Algorithm switch
    {
        CompressionAlgorithm.None => new StoreCompressor(),
        CompressionAlgorithm.Gzip => new GzipCompressor(Level, GzipStrategy()),
        CompressionAlgorithm.Zstd => new ZstdCompressor(Level),
        CompressionAlgorithm.Xz => new XzCompressor(Level, XzDictionarySize ?? blockSize, XzFilters, blockSize),
        CompressionAlgorithm.Lz4 => new Lz4Compressor(Level),
        CompressionAlgorithm.Lzma or CompressionAlgorithm.Lzo => throw new SquashFsException(
            $"{Name(Algorithm)}: this codec is read-only here (images using it can be read, not written); use xz, zstd, lz4 or gzip"),
        _ => throw new SquashFsException($"unknown compression algorithm {Algorithm}"),
    };

    /// <summary>A decompressor for one reader thread; any recorded option is irrelevant to decoding.</summary>
    public BlockDecompressor CreateDecompressor() => Algorithm switch
    {
        CompressionAlgorithm.None or CompressionAlgorithm.Gzip => new GzipDecompressor(),
        CompressionAlgorithm.Zstd => new ZstdDecompressor(),
        CompressionAlgorithm.Xz => new XzDecompressor(),
        CompressionAlgorithm.Lz4 => new Lz4Decompressor(),
        CompressionAlgorithm.Lzma => new LzmaAloneDecompressor(),
        CompressionAlgorithm.Lzo => new LzoDecompressor(),
        _ => throw new SquashFsException($"unknown compression algorithm {Algorithm}"),
    };

    private ZLibCompressionStrategy GzipStrategy() => GzipStrategies switch
    {
        0x2 => ZLibCompressionStrategy.Filtered,
        0x4 => ZLibCompressionStrategy.HuffmanOnly,
        0x8 => ZLibCompressionStrategy.RunLengthEncoding,
        0x10 => ZLibCompressionStrategy.Fixed,
        _ => ZLibCompressionStrategy.Default,
    };
}

/// <summary>The "none" codec: every block is reported incompressible and stored raw.</summary>
internal sealed class StoreCompressor : BlockCompressor
{
    public override int Compress(ReadOnlySpan<byte> source, Span<byte> destination) => 0;
}
