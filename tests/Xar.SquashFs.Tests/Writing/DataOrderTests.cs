using System.Text;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Reading;
using Xar.SquashFs.Tests.Support;
using Xar.SquashFs.Writing;

namespace Xar.SquashFs.Tests.Writing;

/// <summary>
/// The order the writer puts file data in (DataOrder): files of one kind side by side across
/// directories, so that similar small files share fragment blocks and compress against each
/// other; the image still reads back as the tree, and the order depends on the tree alone.
/// </summary>
public sealed class DataOrderTests : IDisposable
{
    private const int BlockSize = 64 * 1024;
    private const int Directories = 8;
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// Per directory: a 20 KB variant of one schema (every copy differs, so deduplication cannot
    /// help) and 30 KB of noise. In listing order a 64 KiB fragment holds one schema and the noise
    /// around it; by kind, three schemas share a fragment and compress against each other.
    /// </summary>
    private string SchemasAmongNoise()
    {
        string source = _temp.Combine("src");
        var random = new Random(5);
        var schema = new StringBuilder();
        while (schema.Length < 20_000)
            schema.Append($"{{\"property{random.Next(100_000)}\": {{\"type\": \"{random.Next(1_000_000):x}\", \"pattern\": \"{random.NextInt64():x}{random.NextInt64():x}\"}}}},\n");
        for (int i = 0; i < Directories; i++)
        {
            string directory = Path.Combine(source, $"provider{i}");
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "schema.json"), $"{{\"region\": {i},\n" + schema + "}\n");
            var noise = new byte[30_000];
            random.NextBytes(noise);
            File.WriteAllBytes(Path.Combine(directory, "noise.bin"), noise);
        }
        return source;
    }

    private static SquashFsWriterOptions Options => new()
    {
        Compression = CompressionSettings.For(CompressionAlgorithm.Zstd, 3),
        BlockSize = BlockSize,
    };

    [Fact]
    public void FilesOfOneKindAreWrittenSideBySideAcrossDirectories()
    {
        string source = SchemasAmongNoise();
        string image = _temp.Combine("image.sqfs");
        var result = SquashFsWriter.CreateImage(source, image, Options);

        // The noise is stored as it is; the eight schemas take little more than one of them would.
        long noise = Directories * 30_000L;
        result.DataBytes.Should().BeLessThan(noise + 3 * 20_000, "schemas side by side compress against each other");

        using var reader = SquashFsImage.Open(image);
        var placed = reader.EnumerateTree().Where(e => e.IsRegularFile)
            .Select(e => (e.Path, Layout: reader.StoredLayout(e)))
            .OrderBy(p => p.Layout.Fragment).ThenBy(p => p.Layout.FragmentOffset)
            .Select(p => p.Path.TrimStart('/'))
            .ToList();

        var expected = Enumerable.Range(0, Directories).Select(i => $"provider{i}/noise.bin")
            .Concat(Enumerable.Range(0, Directories).Select(i => $"provider{i}/schema.json"));
        placed.Should().Equal(expected, "by kind (.bin before .json), then by directory");

    }

    [Fact]
    public void TheReorderedImageReadsBackAsTheTree()
    {
        string source = SchemasAmongNoise();
        TreeGenerator.Generate(Path.Combine(source, "generated"), seed: 13, BlockSize);
        string image = _temp.Combine("image.sqfs");
        SquashFsWriter.CreateImage(source, image, Options);

        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", _temp.Combine("theirs"), image]);
        TreeSnapshot.Capture(_temp.Combine("theirs")).ShouldMatch(TreeSnapshot.Capture(source));
        using var reader = SquashFsImage.Open(image);
        reader.ExtractTo(_temp.Combine("ours"), new ExtractOptions { RestoreOwners = true });
        TreeSnapshot.Capture(_temp.Combine("ours")).ShouldMatch(TreeSnapshot.Capture(source));
    }

    [Fact]
    public void TheOrderDependsOnTheTreeAloneNotOnTheOrderEntriesAreAdded()
    {
        var files = Enumerable.Range(0, 40)
            .Select(i => (Path: $"d{i % 5}/f{i}{(i % 3 == 0 ? ".py" : i % 3 == 1 ? ".json" : "")}", Bytes: Encoding.UTF8.GetBytes(new string((char)('a' + i % 26), 100 + i * 37))))
            .ToList();

        byte[] Build(IEnumerable<(string Path, byte[] Bytes)> entries, string name)
        {
            var writer = new SquashFsWriter(Options with { FixedTime = 1 });
            foreach (var (path, bytes) in entries)
                writer.Add(ImageEntry.File(path, FileContent.FromBytes(bytes)));
            writer.WriteToFile(_temp.Combine(name));
            return File.ReadAllBytes(_temp.Combine(name));
        }

        var shuffled = files.OrderBy(f => f.Path.GetHashCode(StringComparison.Ordinal)).ToList();
        Build(shuffled, "shuffled.sqfs").Should().Equal(Build(files, "listed.sqfs"));
    }
}
