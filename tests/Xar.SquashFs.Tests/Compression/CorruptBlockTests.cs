using Xar.SquashFs.Compression;

namespace Xar.SquashFs.Tests.Compression;

public class CorruptBlockTests
{
    private const int BlockSize = 128 * 1024;

    public static TheoryData<CompressionAlgorithm> WritableCodecs() =>
        new(CompressionAlgorithm.Gzip, CompressionAlgorithm.Zstd, CompressionAlgorithm.Xz, CompressionAlgorithm.Lz4);

    public static TheoryData<CompressionAlgorithm> AllCodecs() =>
        new(CompressionAlgorithm.Gzip, CompressionAlgorithm.Zstd, CompressionAlgorithm.Xz, CompressionAlgorithm.Lz4,
            CompressionAlgorithm.Lzma, CompressionAlgorithm.Lzo);

    private static (byte[] Block, byte[] Packed) Pack(CompressionAlgorithm algorithm, int size = 16 * 1024)
    {
        byte[] block = TestData.Text(size);
        using var compressor = CompressionSettings.For(algorithm).CreateCompressor(BlockSize);
        var packed = new byte[size];
        int length = compressor.Compress(block, packed);
        length.Should().BeGreaterThan(0);
        return (block, packed[..length]);
    }

    private static Action Decompressing(CompressionAlgorithm algorithm, byte[] packed, int destinationLength) => () =>
    {
        using var decompressor = CompressionSettings.For(algorithm).CreateDecompressor();
        decompressor.Decompress(packed, new byte[destinationLength]);
    };

    [Theory]
    [MemberData(nameof(WritableCodecs))]
    public void Truncated_block_throws(CompressionAlgorithm algorithm)
    {
        var (block, packed) = Pack(algorithm);
        foreach (int keep in new[] { packed.Length - 1, packed.Length / 2, 3 })
            Decompressing(algorithm, packed[..keep], block.Length).Should().Throw<SquashFsException>()
                .WithMessage($"{CompressionSettings.Name(algorithm)}: *", $"the block was cut to {keep} bytes");
    }

    [Theory]
    [MemberData(nameof(AllCodecs))]
    public void Garbage_and_empty_input_throw(CompressionAlgorithm algorithm)
    {
        // Bytes no encoder emits at the start of a block: 0xFF is an invalid zlib header, zstd
        // magic, xz magic, lzma properties byte, an lz4 token claiming long runs with no data.
        byte[] garbage = Enumerable.Repeat((byte)0xFF, 64).ToArray();
        Decompressing(algorithm, garbage, BlockSize).Should().Throw<SquashFsException>()
            .WithMessage($"{CompressionSettings.Name(algorithm)}: *");
        Decompressing(algorithm, [], BlockSize).Should().Throw<SquashFsException>()
            .WithMessage($"{CompressionSettings.Name(algorithm)}: *");
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Gzip)]
    [InlineData(CompressionAlgorithm.Xz)]
    public void Damaged_payload_fails_the_integrity_check(CompressionAlgorithm algorithm)
    {
        // gzip carries Adler-32 and xz CRC32; lz4 and (as mksquashfs writes it) zstd have no
        // checksum, so a flipped literal there can decode "successfully".
        var (block, packed) = Pack(algorithm);
        packed[packed.Length / 2] ^= 0x55;
        Decompressing(algorithm, packed, block.Length).Should().Throw<SquashFsException>();
    }

    [Theory]
    [MemberData(nameof(WritableCodecs))]
    public void Block_larger_than_destination_throws(CompressionAlgorithm algorithm)
    {
        var (block, packed) = Pack(algorithm);
        Decompressing(algorithm, packed, block.Length - 1).Should().Throw<SquashFsException>()
            .WithMessage($"*expands beyond {block.Length - 1} bytes*");
        Decompressing(algorithm, packed, 100).Should().Throw<SquashFsException>()
            .WithMessage("*expands beyond 100 bytes*");
    }

    [Theory]
    [MemberData(nameof(WritableCodecs))]
    public void Block_exactly_filling_destination_decodes(CompressionAlgorithm algorithm)
    {
        var (block, packed) = Pack(algorithm, BlockSize);
        using var decompressor = CompressionSettings.For(algorithm).CreateDecompressor();
        var unpacked = new byte[BlockSize];
        decompressor.Decompress(packed, unpacked).Should().Be(BlockSize);
        unpacked.Should().Equal(block);
    }
}
