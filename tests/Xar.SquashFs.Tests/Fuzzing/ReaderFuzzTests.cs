using Xar.SquashFs.Tests.Reading;
using Xunit.Abstractions;

namespace Xar.SquashFs.Tests.Fuzzing;

/// <summary>
/// The reader and the extractor over hostile images from <see cref="HostileImages"/>: every case
/// must read and extract, or fail with a <see cref="SquashFsException"/>, within the time and
/// allocation limits of <see cref="Hostile.Check"/>. Bounded for CI; FUZZ_ITERATIONS (sampled
/// field cases and random-flip cases) and FUZZ_SEED run it longer or differently. A failure
/// names the case, which replays it.
/// </summary>
[Trait("Category", "Fuzz")]
public class ReaderFuzzTests(ITestOutputHelper output)
{
    private const string Options = "-b 4K -noI -noD -noF -noX";

    private static string Image() => ImageCache.Image(TestTrees.FuzzTreeName, TestTrees.BuildFuzz, Options);

    [Fact]
    public void Files_claiming_2_31_or_2_32_blocks_fail_only_with_SquashFsException() =>
        Run(HostileImages.HugeFileCases(File.ReadAllBytes(Image()), Image()), requireAllFail: true);

    [Fact]
    public void Truncated_images_fail_only_with_SquashFsException() =>
        Run(HostileImages.TruncationCases(File.ReadAllBytes(Image())), requireAllFail: true);

    [Fact]
    public void Fields_set_to_boundary_values_fail_only_with_SquashFsException()
    {
        string image = Image();
        var cases = HostileImages.FieldCases(File.ReadAllBytes(image), image);
        int seed = HostileImages.Seed(1);
        output.WriteLine($"{cases.Count} field cases; FUZZ_SEED={seed}");
        Run(HostileImages.Sample(cases, HostileImages.Iterations(1500), seed), requireAllFail: false);
    }

    [Fact]
    public void Random_byte_flips_fail_only_with_SquashFsException()
    {
        int seed = HostileImages.Seed(1) * 1_000_003;
        output.WriteLine($"FUZZ_SEED={HostileImages.Seed(1)}");
        Run(Enumerable.Range(0, HostileImages.Iterations(1500)).Select(i => HostileImages.RandomFlips(seed + i)).ToList(), requireAllFail: false);
    }

    private void Run(IReadOnlyList<HostileCase> cases, bool requireAllFail)
    {
        byte[] original = File.ReadAllBytes(Image());
        using var scratch = new TempDirectory("fuzz", inMemory: true);
        var problems = new List<string>();
        int failed = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            string path = scratch.Combine($"{i}.sqfs");
            File.WriteAllBytes(path, cases[i].Apply(original));
            var outcome = Hostile.Check(path, scratch.Combine($"{i}-out"));
            if (outcome.Problem is not null)
                problems.Add($"{cases[i].Name}: {outcome.Problem}");
            else if (outcome.Failed)
                failed++;
            else if (requireAllFail)
                problems.Add($"{cases[i].Name}: read and extracted without an error");
            File.Delete(path);
            scratch.Delete($"{i}-out");
        }
        output.WriteLine($"{cases.Count} cases: {failed} rejected, {cases.Count - failed - problems.Count} read and extracted, {problems.Count} problems");
        problems.Take(10).Should().BeEmpty($"{problems.Count} of {cases.Count} hostile images misbehaved");
    }
}
