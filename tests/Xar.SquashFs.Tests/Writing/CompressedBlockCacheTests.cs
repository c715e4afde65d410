using System.Collections.Concurrent;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Tests.Support;
using Xar.SquashFs.Writing;

namespace Xar.SquashFs.Tests.Writing;

/// <summary>Blocks kept between writes (<see cref="ICompressedBlockCache"/>): taken when they are the block, never making another image.</summary>
public sealed class CompressedBlockCacheTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A cache in memory that counts what the writer asks of it.</summary>
    private sealed class CountingCache : ICompressedBlockCache
    {
        public ConcurrentDictionary<UInt128, byte[]> Blocks { get; } = new();
        public int Found;
        public int Added;

        public ReadOnlyMemory<byte>? Find(UInt128 key)
        {
            if (!Blocks.TryGetValue(key, out var block)) return null;
            Interlocked.Increment(ref Found);
            return block;
        }

        public void Add(UInt128 key, ReadOnlySpan<byte> compressed)
        {
            Blocks[key] = compressed.ToArray();
            Interlocked.Increment(ref Added);
        }
    }

    private string Source()
    {
        string source = _temp.Combine("src");
        TreeGenerator.Generate(source, seed: 23, 16 * 1024);
        return source;
    }

    private static SquashFsWriterOptions Options(ICompressedBlockCache? cache) => new()
    {
        Compression = CompressionSettings.For(CompressionAlgorithm.Zstd, 19),
        BlockSize = 16 * 1024,
        Threads = 3,
        BlockCache = cache,
    };

    [Fact]
    public void A_second_write_takes_every_block_from_the_cache_and_is_the_image_a_write_without_it_makes()
    {
        string source = Source();
        var cache = new CountingCache();
        SquashFsWriter.CreateImage(source, _temp.Combine("plain.sqfs"), Options(null));

        SquashFsWriter.CreateImage(source, _temp.Combine("first.sqfs"), Options(cache));
        int blocks = cache.Added;
        blocks.Should().BeGreaterThan(10, "data and fragment blocks are kept");
        cache.Found.Should().Be(0);

        SquashFsWriter.CreateImage(source, _temp.Combine("second.sqfs"), Options(cache));
        cache.Added.Should().Be(blocks, "nothing was compressed again");
        cache.Found.Should().Be(blocks);

        byte[] plain = File.ReadAllBytes(_temp.Combine("plain.sqfs"));
        File.ReadAllBytes(_temp.Combine("first.sqfs")).Should().Equal(plain);
        File.ReadAllBytes(_temp.Combine("second.sqfs")).Should().Equal(plain);
        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, _temp.Combine("second.sqfs")]);
        TreeSnapshot.Capture(output).ShouldMatch(TreeSnapshot.Capture(source));
    }

    [Fact]
    public void A_kept_block_that_is_not_the_block_is_compressed_again_and_replaced()
    {
        string source = Source();
        var cache = new CountingCache();
        SquashFsWriter.CreateImage(source, _temp.Combine("first.sqfs"), Options(cache));
        int blocks = cache.Added;
        // Every key gets another block's bytes (a valid zstd frame of other content), and one a truncated frame.
        var keys = cache.Blocks.Keys.OrderBy(k => k).ToList();
        var values = keys.Select(k => cache.Blocks[k]).ToList();
        for (int i = 0; i < keys.Count; i++)
            cache.Blocks[keys[i]] = values[(i + 1) % keys.Count];
        cache.Blocks[keys[0]] = values[0][..(values[0].Length / 2)];

        SquashFsWriter.CreateImage(source, _temp.Combine("second.sqfs"), Options(cache));

        File.ReadAllBytes(_temp.Combine("second.sqfs")).Should().Equal(File.ReadAllBytes(_temp.Combine("first.sqfs")));
        cache.Added.Should().Be(2 * blocks, "each block was compressed again and kept in place of the wrong one");
        keys.Select(k => cache.Blocks[k]).Should().BeEquivalentTo(values, o => o.WithStrictOrdering());
    }

    /// <summary>
    /// A block's key is what the stores of earlier builds hold: the first 128 bits of the SHA-256
    /// of the compressor's identity, a NUL and the block's bytes, read little-endian.
    /// </summary>
    [Fact]
    public void A_blocks_key_is_the_hash_of_the_compressors_identity_a_nul_and_the_block()
    {
        byte[] block = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 4096).Select(i => $"{i % 1000:000} ")));
        block.Length.Should().Be(16 * 1024, "one whole data block, no fragment");
        _temp.Write("one/block", block);
        var cache = new CountingCache();
        SquashFsWriter.CreateImage(_temp.Combine("one"), _temp.Combine("one.sqfs"), Options(cache));

        using var compressor = Options(null).Compression.CreateCompressor(16 * 1024);
        byte[] keyed = [.. System.Text.Encoding.UTF8.GetBytes(compressor.CacheIdentity!), 0, .. block];
        cache.Blocks.Keys.Should().Equal(System.Runtime.InteropServices.MemoryMarshal.Read<UInt128>(System.Security.Cryptography.SHA256.HashData(keyed)));
    }
}
