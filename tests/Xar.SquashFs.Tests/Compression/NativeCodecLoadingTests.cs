using System.Runtime.CompilerServices;
using Xar.SquashFs.Compression;

namespace Xar.SquashFs.Tests.Compression;

public class NativeCodecLoadingTests
{
    [Fact]
    public void Missing_library_names_the_codec_the_file_and_the_debian_package()
    {
        var library = new NativeCodecLibrary("libxar-test-missing.so.7", "libxar-test-missing7");
        var loading = () => library.EnsureLoaded("zstd");
        loading.Should().Throw<SquashFsException>()
            .WithMessage("zstd: cannot load the native library libxar-test-missing.so.7; install the Debian package libxar-test-missing7*");
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Lzma)]
    [InlineData(CompressionAlgorithm.Lzo)]
    public void Legacy_codecs_are_read_only(CompressionAlgorithm algorithm)
    {
        var creating = () => CompressionSettings.For(algorithm).CreateCompressor(128 * 1024);
        creating.Should().Throw<SquashFsException>().WithMessage($"{CompressionSettings.Name(algorithm)}: this codec is read-only here*");
        using var decompressor = CompressionSettings.For(algorithm).CreateDecompressor();
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Zstd, "libzstd.so.1", "libzstd1")]
    [InlineData(CompressionAlgorithm.Xz, "liblzma.so.5", "liblzma5")]
    [InlineData(CompressionAlgorithm.Lzma, "liblzma.so.5", "liblzma5")]
    [InlineData(CompressionAlgorithm.Lz4, "liblz4.so.1", "liblz4-1")]
    [InlineData(CompressionAlgorithm.Lzo, "liblzo2.so.2", "liblzo2-2")]
    public void Each_native_codec_names_its_library_and_package(CompressionAlgorithm algorithm, string fileName, string package)
    {
        var library = algorithm switch
        {
            CompressionAlgorithm.Zstd => NativeCodecLibrary.Zstd,
            CompressionAlgorithm.Xz or CompressionAlgorithm.Lzma => NativeCodecLibrary.Lzma,
            CompressionAlgorithm.Lz4 => NativeCodecLibrary.Lz4,
            _ => NativeCodecLibrary.Lzo,
        };
        library.FileName.Should().Be(fileName);
        library.DebianPackage.Should().Be(package);
        using var decompressor = CompressionSettings.For(algorithm).CreateDecompressor();
    }

    [Fact]
    public void Liblzma_structs_have_their_c_sizes()
    {
        // sizeof(lzma_options_lzma) and sizeof(lzma_stream) from liblzma 5.x on LP64.
        Unsafe.SizeOf<LzmaOptions>().Should().Be(112);
        Unsafe.SizeOf<LzmaStream>().Should().Be(136);
        Unsafe.SizeOf<LzmaFilter>().Should().Be(16);
    }

    [Theory]
    [InlineData(8192)]
    [InlineData(96 * 1024)]
    [InlineData(128 * 1024)]
    public void Xz_accepts_dictionary_sizes_the_kernel_accepts(int dictionarySize)
    {
        using var compressor = (CompressionSettings.For(CompressionAlgorithm.Xz) with { XzDictionarySize = dictionarySize }).CreateCompressor(128 * 1024);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(100_000)]
    [InlineData(256 * 1024)]
    public void Xz_rejects_dictionary_sizes_the_kernel_rejects(int dictionarySize)
    {
        var creating = () => (CompressionSettings.For(CompressionAlgorithm.Xz) with { XzDictionarySize = dictionarySize }).CreateCompressor(128 * 1024);
        creating.Should().Throw<SquashFsException>().WithMessage($"xz: dictionary size {dictionarySize} must be*");
    }

    [Fact]
    public void Xz_rejects_unknown_filter_bits()
    {
        var creating = () => (CompressionSettings.For(CompressionAlgorithm.Xz) with { XzFilters = 0x40 }).CreateCompressor(128 * 1024);
        creating.Should().Throw<SquashFsException>().WithMessage("xz: unknown BCJ filter bits 0x40");
    }
}
