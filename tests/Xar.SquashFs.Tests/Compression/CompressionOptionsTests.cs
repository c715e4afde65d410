using Xar.SquashFs.Compression;

namespace Xar.SquashFs.Tests.Compression;

/// <summary>Option payloads observed in mksquashfs images (docs/squashfs-format.md §5), at 128 KiB blocks.</summary>
public class CompressionOptionsTests
{
    private const int BlockSize = 128 * 1024;

    public static TheoryData<CompressionSettings, string> ObservedPayloads() => new()
    {
        { CompressionSettings.For(CompressionAlgorithm.Zstd, 3), "03000000" },
        { CompressionSettings.For(CompressionAlgorithm.Gzip, 6), "060000000f000000" },
        { CompressionSettings.For(CompressionAlgorithm.Lz4, 0), "0100000000000000" },
        { CompressionSettings.For(CompressionAlgorithm.Lz4, 9), "0100000001000000" },
        { CompressionSettings.For(CompressionAlgorithm.Xz) with { XzDictionarySize = 64 * 1024 }, "0000010000000000" },
    };

    [Theory]
    [MemberData(nameof(ObservedPayloads))]
    public void Encoding_matches_mksquashfs(CompressionSettings settings, string payload) =>
        Convert.ToHexStringLower(settings.EncodeOptions(BlockSize)!).Should().Be(payload);

    [Theory]
    [MemberData(nameof(ObservedPayloads))]
    public void Decoding_recovers_the_settings(CompressionSettings settings, string payload) =>
        CompressionSettings.Decode(settings.CompressorId, Convert.FromHexString(payload)).Should().Be(settings);
}
