using Xar.SquashFs.Reading;
using Xar.SquashFs.Writing;

namespace Xar.SquashFs.Tests.Writing;

/// <summary>
/// The counters an <see cref="OperationProgress"/> gets from the image writer and the extractor
/// (what `xar build`'s summary and progress display show) agree with what the write and the
/// extraction report themselves and with the source tree.
/// </summary>
public sealed class ProgressCountersTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Five copies of one random file, a small file, a file of several blocks and an empty file.</summary>
    private string Source()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        var random = new Random(5);
        var copy = new byte[300_000];
        random.NextBytes(copy);
        for (int i = 0; i < 5; i++) File.WriteAllBytes(Path.Combine(source, i % 2 == 0 ? "" : "sub", $"copy{i}"), copy);
        File.WriteAllText(Path.Combine(source, "small.txt"), "small\n");
        var large = new byte[1_000_000];
        random.NextBytes(large);
        File.WriteAllBytes(Path.Combine(source, "sub", "large"), large);
        File.WriteAllBytes(Path.Combine(source, "empty"), []);
        return source;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_writer_counts_files_bytes_duplicates_and_what_it_wrote(bool dedup)
    {
        var progress = new OperationProgress();
        var result = SquashFsWriter.CreateImage(Source(), _temp.Combine("image.sqfs"), new SquashFsWriterOptions { Deduplicate = dedup, Progress = progress });

        progress.Phase.Should().Be("writing image");
        progress.ImageFiles.Should().Be(8);
        progress.ImageFileBytes.Should().Be(5 * 300_000 + 6 + 1_000_000);
        progress.Items.Should().Be(7, "the files with data").And.Be(progress.ItemsTotal);
        progress.Bytes.Should().Be(progress.ImageFileBytes).And.Be(progress.BytesTotal);
        progress.DuplicateFiles.Should().Be(dedup ? 4 : 0);
        progress.DuplicateBytes.Should().Be(dedup ? 4 * 300_000 : 0);
        progress.BytesWritten.Should().Be(result.DataBytes, "every data and fragment block is counted as written");
    }

    [Fact]
    public void The_extractor_counts_the_files_it_writes()
    {
        string image = _temp.Combine("image.sqfs");
        SquashFsWriter.CreateImage(Source(), image);
        var progress = new OperationProgress();

        using var reader = SquashFsImage.Open(image);
        var summary = reader.ExtractTo(_temp.Combine("out"), new ExtractOptions { Progress = progress });

        progress.Phase.Should().Be("extracting");
        progress.Items.Should().Be(summary.Files).And.Be(progress.ItemsTotal).And.Be(8);
        progress.Bytes.Should().Be(summary.FileBytes).And.Be(progress.BytesTotal);
    }
}
