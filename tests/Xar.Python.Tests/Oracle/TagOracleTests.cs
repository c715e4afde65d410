using System.Text.Json;
using Xar.Python.Standards;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// Our tag lists against packaging's <c>sys_tags()</c>: for every pyenv interpreter, as that
/// interpreter's own pip computes them; and for interpreters that are not on this machine
/// (musl, aarch64, 32-bit ARM and x86, free-threaded, debug, PyPy, …) as packaging 24's code
/// computes them from the same facts.
/// </summary>
public class TagOracleTests
{
    private static readonly ElfHeaderFacts X8664 = CompatibilityTagsTests.X8664Executable;
    private static readonly ElfHeaderFacts Aarch64 = new(true, true, 183, 0, "/lib/ld-linux-aarch64.so.1");
    private static readonly ElfHeaderFacts I386 = new(false, true, 3, 0, "/lib/ld-linux.so.2");
    private static readonly ElfHeaderFacts ArmHardFloat = new(false, true, 40, 0x05000400, "/lib/ld-linux-armhf.so.3");
    private static readonly ElfHeaderFacts ArmSoftFloat = new(false, true, 40, 0x05000200, "/lib/ld-linux.so.3");

    private static InterpreterFacts CPython(int minor, string platform = "linux-x86_64") =>
        CompatibilityTagsTests.CPython(3, minor, platform, glibcMinor: 31);

    /// <summary>Interpreters described by hand, by name.</summary>
    private static readonly Dictionary<string, InterpreterFacts> Described = new()
    {
        ["cp312 x86_64 glibc 2.31"] = CPython(12),
        ["cp313 free-threaded"] = CPython(13) with { FreeThreaded = true },
        ["cp313 free-threaded debug"] = CPython(13) with { FreeThreaded = true, Debug = true },
        ["cp311 debug"] = CPython(11) with { Debug = true },
        ["cp37 pymalloc"] = CPython(7),
        ["cp37 debug without pymalloc"] = CPython(7) with { Debug = true, Pymalloc = false },
        ["cp27 ucs4"] = CompatibilityTagsTests.CPython(2, 7, glibcMinor: 17),
        ["cp27 ucs2"] = CompatibilityTagsTests.CPython(2, 7, glibcMinor: 17) with { WideUnicode = false },
        ["cp32"] = CompatibilityTagsTests.CPython(3, 2, glibcMinor: 12),
        ["cp312 aarch64 glibc 2.28"] = CPython(12, "linux-aarch64") with { Glibc = new(2, 28), Executable = Aarch64 },
        ["cp312 aarch64 glibc 2.17"] = CPython(12, "linux-aarch64") with { Glibc = new(2, 17), Executable = Aarch64 },
        ["cp310 ppc64le"] = CPython(10, "linux-ppc64le") with { Executable = null },
        ["cp311 s390x"] = CPython(11, "linux-s390x") with { Executable = null },
        ["cp312 riscv64"] = CPython(12, "linux-riscv64") with { Executable = null },
        ["cp311 musl 1.2"] = CPython(11) with { Glibc = null, Musl = new(1, 2) },
        ["cp311 musl 1.2 aarch64"] = CPython(11, "linux-aarch64") with { Glibc = null, Musl = new(1, 2), Executable = Aarch64 },
        ["cp310 i686 on x86_64"] = CPython(10) with { Is32Bit = true, Executable = I386 },
        ["cp310 i686"] = CPython(10, "linux-i686") with { Is32Bit = true, Executable = I386 },
        ["cp310 i686 without ELF facts"] = CPython(10) with { Is32Bit = true, Executable = null },
        ["cp311 armv8l hard-float"] = CPython(11, "linux-aarch64") with { Is32Bit = true, Executable = ArmHardFloat },
        ["cp311 armv8l soft-float"] = CPython(11, "linux-aarch64") with { Is32Bit = true, Executable = ArmSoftFloat },
        ["cp311 armv7l hard-float"] = CPython(11, "linux-armv7l") with { Is32Bit = true, Executable = ArmHardFloat },
        ["cp311 glibc unknown"] = CPython(11) with { Glibc = null },
        ["cp312 glibc 3.1"] = CPython(12) with { Glibc = new(3, 1) },
        ["pypy310"] = CPython(10) with { Implementation = "pypy", ExtensionSuffix = ".pypy310-pp73-x86_64-linux-gnu.so" },
        ["graalpy311"] = CPython(11) with { Implementation = "graalpy", ExtensionSuffix = ".graalpy-38-native-x86_64-linux.so" },
        ["unknown implementation with plain .so"] = CPython(11) with { Implementation = "otherpy", ExtensionSuffix = ".so" },
        ["cp312 windows"] = CPython(12, "win-amd64") with { OperatingSystem = "Windows", Glibc = null, Executable = null },
        ["cp312 freebsd"] = CPython(12, "freebsd-14.0-RELEASE-amd64") with { OperatingSystem = "FreeBSD", Glibc = null },
    };

    private static readonly Lazy<(Dictionary<string, string[]> Described, Dictionary<string, string[]> Legacy)> Oracle = new(AskOracle);

    public static TheoryData<string> DescribedNames => new(Described.Keys);

    public static TheoryData<string> PyenvSeries => new(Pyenv.Interpreters.Select(i => $"{i.Version.Major}.{i.Version.Minor}"));

    [Theory]
    [MemberData(nameof(DescribedNames))]
    public void DescribedInterpretersGetPackagingsTags(string name)
    {
        var ours = CompatibilityTags.ForInterpreter(Described[name]).Select(t => t.ToString());
        ours.Should().Equal(Oracle.Value.Described[name]);
    }

    [Theory]
    [MemberData(nameof(PyenvSeries))]
    public void PyenvInterpretersGetTheTagsTheirPipComputes(string series)
    {
        string python = Pyenv.Python(series);
        var ours = CompatibilityTags.ForInterpreter(python).Select(t => t.ToString()).ToArray();

        string cpythonAny = $"cp{series.Replace(".", "")}-none-any";
        ours.Should().Contain(cpythonAny);
        if (Oracle.Value.Legacy.TryGetValue(series, out var legacy))
        {
            ours.Should().Equal(legacy);
            return;
        }

        string answer = PackagingOracle.RunProgram(python,
            "import json; from pip._vendor import packaging; from pip._vendor.packaging import tags; "
            + "print(json.dumps({'version': packaging.__version__, 'tags': [str(t) for t in tags.sys_tags()]}))");
        using var oracle = JsonDocument.Parse(answer);
        var expected = Strings(oracle.RootElement.GetProperty("tags"));
        // packaging 22 added cpXY-none-any (just before pyXY-none-any); the pips of Python
        // 3.7–3.12 here still vendor packaging 21.3, which lacks only that tag.
        bool before22 = int.Parse(oracle.RootElement.GetProperty("version").GetString()!.Split('.')[0]) < 22;
        ours.Where(tag => !(before22 && tag == cpythonAny)).Should().Equal(expected);
    }

    [Fact]
    public void ThereAreInterpretersToCompare()
    {
        Pyenv.Interpreters.Select(i => i.Version.Major).Should().Contain([2, 3], "docs/python-standards.md: the tests use Python 2.7 and 3.6–3.13 under pyenv");
    }

    // Python 2.7 and 3.6 ship pips older than packaging.tags: their tags come from packaging 24 in
    // the oracle interpreter, with the ABI tag those interpreters' own pip reports.
    private static readonly string[] LegacySeries = ["2.7", "3.6"];

    private static (Dictionary<string, string[]>, Dictionary<string, string[]>) AskOracle()
    {
        var legacy = LegacySeries
            .Where(series => Pyenv.Interpreters.Any(i => $"{i.Version.Major}.{i.Version.Minor}" == series))
            .Select(series => (Series: series, Abi: PackagingOracle.RunProgram(Pyenv.Python(series),
                "from pip._internal import pep425tags; import sys; sys.stdout.write(pep425tags.get_abi_tag())").Trim()))
            .ToArray();
        var names = Described.Keys.ToArray();

        using var answer = PackagingOracle.Run("tags.py", writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("legacy");
            foreach (var (series, abi) in legacy)
            {
                writer.WriteStartObject();
                writer.WriteStartArray("version");
                foreach (string part in series.Split('.')) writer.WriteNumberValue(int.Parse(part));
                writer.WriteEndArray();
                writer.WriteString("abi", abi);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteStartArray("interpreters");
            foreach (string name in names) WriteFacts(writer, Described[name]);
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

        var described = names.Zip(answer.RootElement.GetProperty("interpreters").EnumerateArray(), (name, tags) => (name, Strings(tags)))
            .ToDictionary(x => x.name, x => x.Item2);
        var legacyTags = legacy.Zip(answer.RootElement.GetProperty("legacy").EnumerateArray(), (l, tags) => (l.Series, Strings(tags)))
            .ToDictionary(x => x.Series, x => x.Item2);
        return (described, legacyTags);
    }

    private static void WriteFacts(Utf8JsonWriter writer, InterpreterFacts facts)
    {
        writer.WriteStartObject();
        writer.WriteString("implementation", facts.Implementation);
        writer.WriteStartArray("version");
        writer.WriteNumberValue(facts.MajorVersion);
        writer.WriteNumberValue(facts.MinorVersion);
        writer.WriteEndArray();
        writer.WriteBoolean("debug", facts.Debug);
        writer.WriteBoolean("free_threaded", facts.FreeThreaded);
        writer.WriteBoolean("pymalloc", facts.Pymalloc);
        writer.WriteBoolean("wide_unicode", facts.WideUnicode);
        writer.WriteString("ext_suffix", facts.ExtensionSuffix);
        writer.WriteString("platform", facts.Platform);
        writer.WriteString("system", facts.OperatingSystem);
        writer.WriteBoolean("is_32bit", facts.Is32Bit);
        WriteLibc(writer, "glibc", facts.Glibc);
        WriteLibc(writer, "musl", facts.Musl);
        if (facts.Executable is { } elf)
        {
            writer.WriteStartObject("elf");
            writer.WriteNumber("class", elf.Is64Bit ? 2 : 1);
            writer.WriteNumber("data", elf.IsLittleEndian ? 1 : 2);
            writer.WriteNumber("machine", elf.Machine);
            writer.WriteNumber("flags", elf.Flags);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("elf");
        }
        writer.WriteEndObject();
    }

    private static void WriteLibc(Utf8JsonWriter writer, string name, LibcVersion? version)
    {
        if (version is not { } v)
        {
            writer.WriteNull(name);
            return;
        }
        writer.WriteStartArray(name);
        writer.WriteNumberValue(v.Major);
        writer.WriteNumberValue(v.Minor);
        writer.WriteEndArray();
    }

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();
}
