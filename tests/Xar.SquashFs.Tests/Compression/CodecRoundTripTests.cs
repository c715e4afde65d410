using Xar.SquashFs.Compression;

namespace Xar.SquashFs.Tests.Compression;

public class CodecRoundTripTests
{
    private const int BlockSize = 128 * 1024;

    public static TheoryData<CompressionAlgorithm, int, uint> Codecs() => new()
    {
        { CompressionAlgorithm.Gzip, 1, 0 },
        { CompressionAlgorithm.Gzip, 6, 0 },
        { CompressionAlgorithm.Gzip, 9, 0 },
        { CompressionAlgorithm.Zstd, 1, 0 },
        { CompressionAlgorithm.Zstd, 3, 0 },
        { CompressionAlgorithm.Zstd, 15, 0 },
        { CompressionAlgorithm.Zstd, 22, 0 },
        { CompressionAlgorithm.Xz, 0, 0 },
        { CompressionAlgorithm.Xz, 6, 0 },
        { CompressionAlgorithm.Xz, 9, 0 },
        { CompressionAlgorithm.Xz, 6, 0x01 },
        { CompressionAlgorithm.Xz, 6, XzCompressor.KnownFilterBits },
        { CompressionAlgorithm.Lz4, 0, 0 },
        { CompressionAlgorithm.Lz4, 1, 0 },
        { CompressionAlgorithm.Lz4, 9, 0 },
        { CompressionAlgorithm.Lz4, 12, 0 },
    };

    private static CompressionSettings Settings(CompressionAlgorithm algorithm, int level, uint xzFilters) =>
        CompressionSettings.For(algorithm, level) with { XzFilters = xzFilters };

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Text_block_round_trips_and_shrinks(CompressionAlgorithm algorithm, int level, uint xzFilters)
    {
        var settings = Settings(algorithm, level, xzFilters);
        byte[] block = TestData.Text(BlockSize);
        using var compressor = settings.CreateCompressor(BlockSize);
        using var decompressor = settings.CreateDecompressor();

        var packed = new byte[BlockSize];
        int length = compressor.Compress(block, packed);
        length.Should().BeInRange(1, BlockSize / 2, "text-like data compresses well with every codec");

        var unpacked = new byte[BlockSize];
        decompressor.Decompress(packed.AsSpan(0, length), unpacked).Should().Be(BlockSize);
        unpacked.Should().Equal(block);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void One_instance_handles_many_blocks_of_different_sizes(CompressionAlgorithm algorithm, int level, uint xzFilters)
    {
        var settings = Settings(algorithm, level, xzFilters);
        using var compressor = settings.CreateCompressor(BlockSize);
        using var decompressor = settings.CreateDecompressor();
        int[] sizes = [8192, 1000, BlockSize, 4096, 3 * 8192 + 17];
        var packedBlocks = sizes.Select((size, i) =>
        {
            byte[] block = TestData.Text(size, seed: 10 + i);
            var packed = new byte[size];
            int length = compressor.Compress(block, packed);
            length.Should().BeGreaterThan(0);
            return (Block: block, Packed: packed[..length]);
        }).ToList();

        // Decode in a different order from encoding, into a block-sized buffer as a reader would.
        var unpacked = new byte[BlockSize];
        foreach (var (block, packed) in packedBlocks.AsEnumerable().Reverse())
        {
            int produced = decompressor.Decompress(packed, unpacked);
            produced.Should().Be(block.Length);
            unpacked.AsSpan(0, produced).SequenceEqual(block).Should().BeTrue();
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Incompressible_block_is_reported_as_zero(CompressionAlgorithm algorithm, int level, uint xzFilters)
    {
        using var compressor = Settings(algorithm, level, xzFilters).CreateCompressor(BlockSize);
        byte[] noise = TestData.Noise(BlockSize);
        compressor.Compress(noise, new byte[BlockSize]).Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Tiny_blocks_are_stored_raw(CompressionAlgorithm algorithm, int level, uint xzFilters)
    {
        using var compressor = Settings(algorithm, level, xzFilters).CreateCompressor(BlockSize);
        var destination = new byte[BlockSize];
        compressor.Compress([], destination).Should().Be(0);
        compressor.Compress([42], destination).Should().Be(0);
        compressor.Compress("ab"u8, destination).Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Small_run_of_zeros_round_trips(CompressionAlgorithm algorithm, int level, uint xzFilters)
    {
        var settings = Settings(algorithm, level, xzFilters);
        using var compressor = settings.CreateCompressor(BlockSize);
        using var decompressor = settings.CreateDecompressor();
        var zeros = new byte[4096];
        var packed = new byte[zeros.Length];
        int length = compressor.Compress(zeros, packed);
        length.Should().BeInRange(1, 200);

        var unpacked = new byte[zeros.Length];
        unpacked.AsSpan().Fill(0xFF);
        decompressor.Decompress(packed.AsSpan(0, length), unpacked).Should().Be(zeros.Length);
        unpacked.Should().OnlyContain(b => b == 0);
    }

    [Fact]
    public void None_stores_every_block_raw()
    {
        using var compressor = CompressionSettings.For(CompressionAlgorithm.None).CreateCompressor(BlockSize);
        compressor.Compress(new byte[4096], new byte[4096]).Should().Be(0);
    }

    [Fact]
    public void Xz_keeps_the_bcj_chain_only_when_it_is_smaller()
    {
        // x86-64 machine code: the x86 BCJ filter should beat plain LZMA2, and never lose to it.
        byte[] code = File.ReadAllBytes("/usr/lib/x86_64-linux-gnu/libzstd.so.1").AsSpan(0x10000, BlockSize).ToArray();
        var plain = CompressionSettings.For(CompressionAlgorithm.Xz);
        var withBcj = plain with { XzFilters = 0x01 | 0x08 };
        var packedPlain = new byte[BlockSize];
        var packedBcj = new byte[BlockSize];
        int plainLength, bcjLength;
        using (var compressor = plain.CreateCompressor(BlockSize)) plainLength = compressor.Compress(code, packedPlain);
        using (var compressor = withBcj.CreateCompressor(BlockSize)) bcjLength = compressor.Compress(code, packedBcj);

        bcjLength.Should().BeGreaterThan(0).And.BeLessThan(plainLength);
        using var decompressor = withBcj.CreateDecompressor();
        var unpacked = new byte[BlockSize];
        decompressor.Decompress(packedBcj.AsSpan(0, bcjLength), unpacked).Should().Be(BlockSize);
        unpacked.Should().Equal(code);
    }
}
