using System.Buffers.Binary;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

using Xar.SquashFs.Tests.Support;

namespace Xar.SquashFs.Tests.Compression;

/// <summary>
/// Images made by mksquashfs (Debian package squashfs-tools) for every codec it supports: we read
/// their compressor options and decode their metadata and data blocks.
/// </summary>
public class MksquashfsImageTests
{
    private const int BigFileSize = 200 * 1024;

    private sealed record Image(byte[] Bytes, Superblock Superblock, byte[] Options, byte[] BigFile);

    private static Image Build(string compressor, params string[] options)
    {
        using var temp = new TempDirectory();
        string source = temp.Combine("src");
        Directory.CreateDirectory(source);
        byte[] bigFile = TestData.Text(BigFileSize, seed: 7);
        File.WriteAllBytes(Path.Combine(source, "big"), bigFile);
        // Enough small files that even xz (about 60 bytes of container per block) shrinks the inode table.
        for (int i = 0; i < 40; i++)
            File.WriteAllBytes(Path.Combine(source, $"small{i:d2}.txt"), TestData.Text(100 + i, seed: 100 + i));
        string image = temp.Combine("image.sqfs");
        ExternalTool.Run("mksquashfs", "squashfs-tools",
            [source, image, "-comp", compressor, .. options, "-noappend", "-no-xattrs", "-quiet", "-processors", "1"]);

        byte[] bytes = File.ReadAllBytes(image);
        var superblock = Superblock.Read(bytes, bytes.Length);
        byte[] optionsPayload = [];
        if (superblock.HasCompressorOptions)
        {
            ushort header = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(SquashFsConstants.SuperblockSize));
            (header & SquashFsConstants.MetadataUncompressed).Should().NotBe(0, "the options block is always stored uncompressed");
            int length = header & 0x7FFF;
            optionsPayload = bytes.AsSpan(SquashFsConstants.SuperblockSize + 2, length).ToArray();
        }
        return new Image(bytes, superblock, optionsPayload, bigFile);
    }

    public static TheoryData<string, string[]> Images() => new()
    {
        { "gzip", [] },
        { "gzip", ["-Xcompression-level", "1"] },
        { "zstd", [] },
        { "zstd", ["-Xcompression-level", "3"] },
        { "xz", [] },
        { "xz", ["-Xbcj", "x86,arm", "-Xdict-size", "50%"] },
        { "lz4", [] },
        { "lz4", ["-Xhc"] },
        { "lzo", [] },
        { "lzo", ["-Xalgorithm", "lzo1x_1"] },
        { "lzma", [] },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void We_decode_metadata_and_data_blocks_of_mksquashfs_images(string compressor, string[] options)
    {
        var image = Build(compressor, options);
        var settings = CompressionSettings.Decode(image.Superblock.CompressorId, image.Options);
        CompressionSettings.Name(settings.Algorithm).Should().Be(compressor);
        using var decompressor = settings.CreateDecompressor();

        // The first inode-table block; its first inode is the first file mksquashfs scanned, "big".
        int position = (int)image.Superblock.InodeTableStart;
        ushort header = BinaryPrimitives.ReadUInt16LittleEndian(image.Bytes.AsSpan(position));
        (header & SquashFsConstants.MetadataUncompressed).Should().Be(0, "a table of a few inodes compresses");
        var inodes = new byte[SquashFsConstants.MetadataBlockSize];
        int inodeBytes = decompressor.Decompress(image.Bytes.AsSpan(position + 2, header & 0x7FFF), inodes);
        inodeBytes.Should().BeInRange(32, SquashFsConstants.MetadataBlockSize);

        BinaryPrimitives.ReadUInt16LittleEndian(inodes).Should().Be(2, "a basic regular file");
        BinaryPrimitives.ReadUInt32LittleEndian(inodes.AsSpan(28)).Should().Be(BigFileSize);
        long dataPosition = BinaryPrimitives.ReadUInt32LittleEndian(inodes.AsSpan(16));
        int blockSize = (int)image.Superblock.BlockSize;
        var content = new byte[BigFileSize];
        int filled = 0;
        for (int i = 0; filled < BigFileSize; i++)
        {
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(inodes.AsSpan(32 + 4 * i));
            int stored = (int)(word & SquashFsConstants.DataSizeMask);
            (word & SquashFsConstants.DataUncompressed).Should().Be(0, "text blocks compress");
            var block = new byte[blockSize];
            int produced = decompressor.Decompress(image.Bytes.AsSpan((int)dataPosition, stored), block);
            produced.Should().Be(Math.Min(blockSize, BigFileSize - filled));
            block.AsSpan(0, produced).CopyTo(content.AsSpan(filled));
            filled += produced;
            dataPosition += stored;
        }
        content.Should().Equal(image.BigFile);
    }

    public static TheoryData<string, string[], CompressionSettings> NonDefaultOptions() => new()
    {
        { "zstd", ["-Xcompression-level", "3"], CompressionSettings.For(CompressionAlgorithm.Zstd, 3) },
        { "gzip", ["-Xcompression-level", "6"], CompressionSettings.For(CompressionAlgorithm.Gzip, 6) },
        { "lz4", [], CompressionSettings.For(CompressionAlgorithm.Lz4, 0) },
        { "lz4", ["-Xhc"], CompressionSettings.For(CompressionAlgorithm.Lz4, 9) },
        { "xz", ["-Xdict-size", "50%"], CompressionSettings.For(CompressionAlgorithm.Xz) with { XzDictionarySize = 64 * 1024 } },
        { "xz", ["-Xbcj", "x86,arm"], CompressionSettings.For(CompressionAlgorithm.Xz) with { XzDictionarySize = 128 * 1024, XzFilters = 0x01 | 0x08 } },
    };

    [Theory]
    [MemberData(nameof(NonDefaultOptions))]
    public void Our_options_block_matches_mksquashfs(string compressor, string[] options, CompressionSettings settings)
    {
        var image = Build(compressor, options);
        image.Superblock.HasCompressorOptions.Should().BeTrue();
        settings.EncodeOptions((int)image.Superblock.BlockSize).Should().Equal(image.Options);
        CompressionSettings.Decode(image.Superblock.CompressorId, image.Options).Should().Be(settings);
    }

    [Theory]
    [InlineData("gzip", CompressionAlgorithm.Gzip)]
    [InlineData("zstd", CompressionAlgorithm.Zstd)]
    [InlineData("xz", CompressionAlgorithm.Xz)]
    public void Default_settings_have_no_options_block_like_mksquashfs(string compressor, CompressionAlgorithm algorithm)
    {
        var image = Build(compressor);
        image.Superblock.HasCompressorOptions.Should().BeFalse();
        CompressionSettings.For(algorithm).EncodeOptions((int)image.Superblock.BlockSize).Should().BeNull();
    }
}
