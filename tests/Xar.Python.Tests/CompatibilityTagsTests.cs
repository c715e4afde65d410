using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>PEP 425 tags for interpreters described by hand, checked against the order PEP 425, PEP 600 and pip define.</summary>
public class CompatibilityTagsTests
{
    internal static readonly ElfHeaderFacts X8664Executable = new(Is64Bit: true, IsLittleEndian: true, Machine: 62, Flags: 0, "/lib64/ld-linux-x86-64.so.2");

    internal static InterpreterFacts CPython(int major, int minor, string platform = "linux-x86_64", int glibcMinor = 17) => new()
    {
        Implementation = "cpython",
        MajorVersion = major,
        MinorVersion = minor,
        Pymalloc = true,
        WideUnicode = true,
        ExtensionSuffix = $".cpython-{major}{minor}-x86_64-linux-gnu.so",
        Platform = platform,
        OperatingSystem = "Linux",
        Glibc = new LibcVersion(2, glibcMinor),
        Executable = X8664Executable,
    };

    [Fact]
    public void OrdersCPythonTagsAsSysTagsDoes()
    {
        var tags = Strings(CompatibilityTags.ForInterpreter(CPython(3, 11)));

        string[] platforms =
        [
            "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_16_x86_64", "manylinux_2_15_x86_64",
            "manylinux_2_14_x86_64", "manylinux_2_13_x86_64", "manylinux_2_12_x86_64", "manylinux2010_x86_64",
            "manylinux_2_11_x86_64", "manylinux_2_10_x86_64", "manylinux_2_9_x86_64", "manylinux_2_8_x86_64",
            "manylinux_2_7_x86_64", "manylinux_2_6_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64",
        ];
        var expected = new List<string>();
        expected.AddRange(platforms.Select(p => $"cp311-cp311-{p}"));
        expected.AddRange(platforms.Select(p => $"cp311-abi3-{p}"));
        expected.AddRange(platforms.Select(p => $"cp311-none-{p}"));
        for (int minor = 10; minor >= 2; minor--) expected.AddRange(platforms.Select(p => $"cp3{minor}-abi3-{p}"));
        string[] pythons = ["py311", "py3", .. Enumerable.Range(0, 11).Reverse().Select(m => $"py3{m}")];
        foreach (string python in pythons) expected.AddRange(platforms.Select(p => $"{python}-none-{p}"));
        expected.Add("cp311-none-any");
        expected.AddRange(pythons.Select(p => $"{p}-none-any"));

        tags.Should().Equal(expected);
    }

    [Theory]
    [InlineData(3, 7, false, false, "cp37m")]
    [InlineData(3, 7, true, false, "cp37dm")]
    [InlineData(3, 8, false, false, "cp38")]
    [InlineData(3, 11, true, false, "cp311d,cp311")]
    [InlineData(3, 13, false, true, "cp313t")]
    [InlineData(3, 13, true, true, "cp313td,cp313t")]
    [InlineData(3, 12, false, true, "cp312")]
    [InlineData(2, 7, false, false, "cp27mu")]
    public void DerivesTheCPythonAbi(int major, int minor, bool debug, bool freeThreaded, string abis)
    {
        var facts = CPython(major, minor) with { Debug = debug, FreeThreaded = freeThreaded };
        var tags = CompatibilityTags.ForInterpreter(facts);
        tags.Where(t => t.Platform == "linux_x86_64" && t.Interpreter == $"cp{major}{minor}" && t.Abi.StartsWith("cp", StringComparison.Ordinal))
            .Select(t => t.Abi).Should().Equal(abis.Split(','));
    }

    [Theory]
    [InlineData(3, 13, true, false)]
    [InlineData(2, 7, false, false)]
    [InlineData(3, 2, false, true)]
    public void UsesTheStableAbiOnlyWhereItExists(int major, int minor, bool freeThreaded, bool expected)
    {
        var tags = CompatibilityTags.ForInterpreter(CPython(major, minor) with { FreeThreaded = freeThreaded });
        tags.Any(t => t.Abi == "abi3").Should().Be(expected);
    }

    [Fact]
    public void ManylinuxForOtherArchitecturesStartsAtGlibc217()
    {
        var tags = CompatibilityTags.ForInterpreter(CPython(3, 12, "linux-aarch64", glibcMinor: 28) with
        {
            Executable = X8664Executable with { Machine = 183 },
        });
        tags.Platforms.Should().Equal(
            [.. Enumerable.Range(17, 12).Reverse().SelectMany(m => m == 17 ? new[] { "manylinux_2_17_aarch64", "manylinux2014_aarch64" } : [$"manylinux_2_{m}_aarch64"]), "linux_aarch64"]);
    }

    [Fact]
    public void MuslInterpretersGetMusllinuxTags()
    {
        var facts = CPython(3, 12) with { Glibc = null, Musl = new LibcVersion(1, 2) };
        CompatibilityTags.ForInterpreter(facts).Platforms.Should().Equal(
            "musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64");
    }

    [Fact]
    public void ThirtyTwoBitInterpretersUseThirtyTwoBitPlatforms()
    {
        var i686 = CPython(3, 10) with { Is32Bit = true, Executable = new ElfHeaderFacts(false, true, 3, 0, "/lib/ld-linux.so.2") };
        CompatibilityTags.ForInterpreter(i686).Platforms.Should().StartWith("manylinux_2_17_i686").And.EndWith("linux_i686");

        // Without an i386 executable to prove the ABI, no manylinux tag is claimed.
        CompatibilityTags.ForInterpreter(i686 with { Executable = null }).Platforms.Should().Equal("linux_i686");

        var armhf = new ElfHeaderFacts(false, true, 40, 0x05000400, "/lib/ld-linux-armhf.so.3");
        var armv8l = CPython(3, 10, "linux-aarch64") with { Is32Bit = true, Executable = armhf };
        var platforms = CompatibilityTags.ForInterpreter(armv8l).Platforms;
        platforms.Should().Equal("manylinux_2_17_armv8l", "manylinux2014_armv8l", "manylinux_2_17_armv7l", "manylinux2014_armv7l",
            "linux_armv8l", "linux_armv7l");
        CompatibilityTags.ForInterpreter(armv8l with { Executable = armhf with { Flags = 0x05000000 } }).Platforms
            .Should().Equal("linux_armv8l", "linux_armv7l");
    }

    [Fact]
    public void PyPyUsesItsOwnAbiAndPp3()
    {
        var pypy = CPython(3, 10) with { Implementation = "pypy", ExtensionSuffix = ".pypy310-pp73-x86_64-linux-gnu.so", Glibc = null };
        Strings(CompatibilityTags.ForInterpreter(pypy)).Should().StartWith(
            "pp310-pypy310_pp73-linux_x86_64", "pp310-none-linux_x86_64", "py310-none-linux_x86_64", "py3-none-linux_x86_64")
            .And.Contain("pp3-none-any")
            .And.NotContain(t => t.Contains("abi3"));
    }

    [Fact]
    public void OtherSystemsUseTheirPlatformString()
    {
        var windows = CPython(3, 12, "win-amd64") with { OperatingSystem = "Windows", Glibc = null, Executable = null };
        CompatibilityTags.ForInterpreter(windows).Platforms.Should().Equal("win_amd64");

        var mac = CPython(3, 12, "macosx-11.0-arm64") with { OperatingSystem = "Darwin" };
        var macTags = () => CompatibilityTags.ForInterpreter(mac);
        macTags.Should().Throw<PlatformNotSupportedException>();
    }

    [Fact]
    public void AWheelsPriorityIsItsBestTag()
    {
        var tags = CompatibilityTags.ForInterpreter(CPython(3, 11));
        var numpy = WheelFilename.Parse("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        tags.PriorityOf(numpy).Should().Be(0);
        tags.PriorityOf(WheelFilename.Parse("six-1.16.0-py2.py3-none-any.whl")).Should().Be(tags.Count - 12);
        tags.PriorityOf(new WheelTag("py3", "none", "any")).Should().Be(tags.Count - 12);
        tags.PriorityOf(WheelFilename.Parse("x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")).Should().BeNull();
        tags.IsCompatible(WheelFilename.Parse("x-1.0-cp311-cp311-musllinux_1_1_x86_64.whl")).Should().BeFalse();
        tags.IsCompatible(WheelFilename.Parse("x-1.0-cp36-abi3-manylinux1_x86_64.whl")).Should().BeTrue();
    }

    [Fact]
    public void SelectsTheWheelPipWouldInstall()
    {
        var tags = CompatibilityTags.ForInterpreter(CPython(3, 11));
        WheelFilename[] Parse(params string[] names) => names.Select(WheelFilename.Parse).ToArray();

        tags.SelectBest(Parse(
            "lib-2.0-py3-none-any.whl",
            "lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "lib-2.0-cp311-cp311-musllinux_1_1_x86_64.whl",
            "lib-2.0-cp312-cp312-manylinux_2_17_x86_64.whl"))!.FileName
            .Should().Be("lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl");

        tags.SelectBest(Parse("lib-2.0-py3-none-any.whl", "lib-1.0-cp311-cp311-linux_x86_64.whl"))!.FileName
            .Should().Be("lib-2.0-py3-none-any.whl", "a newer version wins over a more specific tag");

        tags.SelectBest(Parse("lib-1.0-py3-none-any.whl", "lib-1.0-2-py3-none-any.whl", "lib-1.0-1-py3-none-any.whl"))!.FileName
            .Should().Be("lib-1.0-2-py3-none-any.whl");

        tags.SelectBest(Parse("lib-1.0-cp27-cp27mu-linux_x86_64.whl")).Should().BeNull();
    }

    private static IEnumerable<string> Strings(IEnumerable<WheelTag> tags) => tags.Select(t => t.ToString());
}
