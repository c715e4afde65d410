using Xar.SquashFs.Compression;

namespace Xar.SquashFs.Tests.Compression;

/// <summary>
/// The gzip decompressor detects truncation by watching ZLibStream read past the end of its input;
/// complete streams must never trip it, including when their length is a multiple of ZLibStream's
/// 8 KiB input buffer.
/// </summary>
public class GzipTruncationTests
{
    [Fact]
    public void Complete_streams_around_input_buffer_boundaries_decode()
    {
        var settings = CompressionSettings.For(CompressionAlgorithm.Gzip);
        using var compressor = settings.CreateCompressor(128 * 1024);
        using var decompressor = settings.CreateDecompressor();
        var lengthsSeen = new HashSet<int>();
        foreach (int noiseLength in Enumerable.Range(8192 - 192, 192).Concat(Enumerable.Range(16384 - 256, 256)))
        {
            // Noise stored verbatim plus a long run of zeros: the compressed length is the noise
            // length plus a small constant, so it sweeps across 8192 and 16384.
            byte[] block = [.. TestData.Noise(noiseLength, seed: noiseLength), .. new byte[20_000]];
            var packed = new byte[block.Length];
            int length = compressor.Compress(block, packed);
            length.Should().BeGreaterThan(0);
            lengthsSeen.Add(length);

            var unpacked = new byte[block.Length];
            decompressor.Decompress(packed.AsSpan(0, length), unpacked).Should().Be(block.Length);
            unpacked.Should().Equal(block);
            var truncated = () => decompressor.Decompress(packed.AsSpan(0, length - 1), unpacked);
            truncated.Should().Throw<SquashFsException>().WithMessage("gzip: corrupt block*");
        }
        lengthsSeen.Should().Contain([8192, 16384]);
    }
}
