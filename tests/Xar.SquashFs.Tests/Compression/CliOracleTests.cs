using System.Buffers.Binary;
using System.Text;
using Xar.SquashFs.Compression;

using Xar.SquashFs.Tests.Support;

namespace Xar.SquashFs.Tests.Compression;

/// <summary>
/// Our blocks checked by the reference command-line tools, and theirs decoded by us. Needs the
/// Debian packages xz-utils, zstd and lz4.
/// </summary>
public class CliOracleTests
{
    private const int BlockSize = 128 * 1024;

    private static byte[] Compress(CompressionSettings settings, byte[] block)
    {
        using var compressor = settings.CreateCompressor(BlockSize);
        var packed = new byte[block.Length];
        int length = compressor.Compress(block, packed);
        length.Should().BeGreaterThan(0);
        return packed[..length];
    }

    private static byte[] Decompress(CompressionSettings settings, byte[] packed, int length)
    {
        using var decompressor = settings.CreateDecompressor();
        var unpacked = new byte[length];
        decompressor.Decompress(packed, unpacked).Should().Be(length);
        return unpacked;
    }

    private static string[] XzListing(TempDirectory temp, byte[] xz)
    {
        string file = temp.Combine("block.xz");
        File.WriteAllBytes(file, xz);
        return Encoding.UTF8.GetString(ExternalTool.Run("xz", "xz-utils", ["--robot", "--list", "-vv", file])).Split('\n');
    }

    [Theory]
    [InlineData(0, 0u)]
    [InlineData(6, 0u)]
    [InlineData(9, 0x3Fu)]
    public void Xz_cli_accepts_our_blocks_and_sees_crc32(int preset, uint filters)
    {
        byte[] block = TestData.Text(BlockSize);
        byte[] packed = Compress(CompressionSettings.For(CompressionAlgorithm.Xz, preset) with { XzFilters = filters }, block);

        ExternalTool.Run("xz", "xz-utils", ["-dc"], packed).Should().Equal(block);
        using var temp = new TempDirectory();
        string[] listing = XzListing(temp, packed);
        listing.Single(line => line.StartsWith("file\t")).Split('\t')[6].Should().Be("CRC32");
        listing.Single(line => line.StartsWith("block\t")).Should().EndWith("lzma2=dict=128KiB");
    }

    [Fact]
    public void Xz_dictionary_size_comes_from_the_settings()
    {
        byte[] packed = Compress(CompressionSettings.For(CompressionAlgorithm.Xz) with { XzDictionarySize = 48 * 1024 }, TestData.Text(BlockSize));
        using var temp = new TempDirectory();
        XzListing(temp, packed).Single(line => line.StartsWith("block\t")).Should().EndWith("lzma2=dict=48KiB");
    }

    [Fact]
    public void We_decode_the_xz_cli_output()
    {
        byte[] block = TestData.Text(BlockSize);
        byte[] packed = ExternalTool.Run("xz", "xz-utils", ["-c", "--check=crc32", "--x86", "--lzma2=preset=6,dict=128KiB"], block);
        Decompress(CompressionSettings.For(CompressionAlgorithm.Xz), packed, BlockSize).Should().Equal(block);
    }

    [Fact]
    public void We_decode_lzma_alone_output_of_the_xz_cli()
    {
        byte[] block = TestData.Text(BlockSize);
        byte[] packed = ExternalTool.Run("xz", "xz-utils", ["-c", "--format=lzma"], block);
        Decompress(CompressionSettings.For(CompressionAlgorithm.Lzma), packed, BlockSize).Should().Equal(block);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(22)]
    public void Zstd_cli_accepts_our_frames(int level)
    {
        byte[] block = TestData.Text(BlockSize);
        byte[] packed = Compress(CompressionSettings.For(CompressionAlgorithm.Zstd, level), block);
        ExternalTool.Run("zstd", "zstd", ["-dc"], packed).Should().Equal(block);
    }

    [Fact]
    public void We_decode_the_zstd_cli_output()
    {
        byte[] block = TestData.Text(BlockSize);
        byte[] packed = ExternalTool.Run("zstd", "zstd", ["-c", "-19", "--check"], block);
        Decompress(CompressionSettings.For(CompressionAlgorithm.Zstd), packed, BlockSize).Should().Equal(block);
    }

    // The lz4 CLI reads no raw blocks, but its legacy format (-l) is a magic number followed by
    // [u32 compressed length][raw block] records, so a raw block wraps into one without re-encoding.
    private const uint Lz4LegacyMagic = 0x184C2102;

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(12)]
    public void Lz4_cli_accepts_our_blocks(int level)
    {
        byte[] block = TestData.Text(BlockSize);
        byte[] packed = Compress(CompressionSettings.For(CompressionAlgorithm.Lz4, level), block);
        var legacy = new byte[8 + packed.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(legacy, Lz4LegacyMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(legacy.AsSpan(4), (uint)packed.Length);
        packed.CopyTo(legacy, 8);
        ExternalTool.Run("lz4", "lz4", ["-dc"], legacy).Should().Equal(block);
    }

    [Fact]
    public void We_decode_the_lz4_cli_output()
    {
        byte[] block = TestData.Text(BlockSize);
        byte[] legacy = ExternalTool.Run("lz4", "lz4", ["-c", "-l", "-9"], block);
        BinaryPrimitives.ReadUInt32LittleEndian(legacy).Should().Be(Lz4LegacyMagic);
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(legacy.AsSpan(4));
        Decompress(CompressionSettings.For(CompressionAlgorithm.Lz4), legacy[8..(8 + length)], BlockSize).Should().Equal(block);
    }
}
