using System.Text.RegularExpressions;
using Xar.Archive.Elf;

namespace Xar.Archive.Tests.Elf;

/// <summary>
/// The ELF reader against readelf: the dynamic section (-d) and the version needs (-V) of real
/// objects of this host, of pyenv's interpreter and libpython, of Debian's numpy, of objects
/// built for aarch64 and as ELF32, and of hand-written objects in both byte orders and classes.
/// </summary>
public sealed partial class ElfObjectTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    public static TheoryData<string> HostObjects()
    {
        var data = new TheoryData<string>();
        // A sample of the system's libraries (sorted, so the same on every run), and the interesting cases.
        foreach (string file in Directory.EnumerateFiles("/usr/lib/x86_64-linux-gnu", "*.so.*")
                     .Where(f => new FileInfo(f) is { LinkTarget: null, Length: < 8 << 20 }).Order(StringComparer.Ordinal).Where((_, i) => i % 25 == 0).Take(16))
            data.Add(file);
        foreach (string file in (string[])[
                     "/root/.pyenv/versions/3.11.7/bin/python3.11",
                     "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
                     "/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
                     "/usr/bin/python3.11",
                     "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                 ])
        {
            if (File.Exists(file)) data.Add(file);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(HostObjects))]
    public void Reads_what_readelf_reads(string file) => ShouldMatchReadelf(file, ElfObject.Read(file));

    [Fact]
    public void Reads_an_aarch64_object()
    {
        string file = Compile("aarch64-linux-gnu-gcc", [], "liba64.so");

        var elf = ElfObject.Read(file);

        elf.Machine.Should().Be(ElfObject.MachineAArch64);
        elf.Is64.Should().BeTrue();
        elf.Runpath.Should().Be("$ORIGIN/../lib");
        ShouldMatchReadelf(file, elf);
    }

    [Fact]
    public void Reads_an_elf32_object()
    {
        // No 32-bit libc here: a stub library to be needed, and no C library at all.
        string stub = Path.Combine(_directory.Path, "libstub.so");
        File.WriteAllText(Path.Combine(_directory.Path, "stub.c"), "int stub(void) { return 1; }\n");
        Run.Checked("gcc", ["-m32", "-nostdlib", "-shared", "-o", stub, Path.Combine(_directory.Path, "stub.c"), "-Wl,-soname,libstub.so.1"]);
        File.WriteAllText(Path.Combine(_directory.Path, "main.c"), "int stub(void);\nint f(void) { return stub(); }\n");
        string file = Path.Combine(_directory.Path, "libmain32.so");
        Run.Checked("gcc", ["-m32", "-nostdlib", "-shared", "-o", file, Path.Combine(_directory.Path, "main.c"), "-L" + _directory.Path, "-lstub",
            "-Wl,-soname,libmain.so.2", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/x:$ORIGIN"]);

        var elf = ElfObject.Read(file);

        elf.Is64.Should().BeFalse();
        elf.Machine.Should().Be(ElfObject.MachineX86);
        elf.Needed.Should().Equal("libstub.so.1");
        elf.Rpath.Should().Be("/opt/x:$ORIGIN");
        elf.Runpath.Should().BeNull();
        ShouldMatchReadelf(file, elf);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void Reads_hand_written_objects_of_either_class_and_byte_order(bool is64, bool bigEndian)
    {
        var spec = new SyntheticElf
        {
            Is64 = is64,
            BigEndian = bigEndian,
            Machine = bigEndian ? (ushort)22 : (ushort)62,
            Needed = ["libfoo.so.1", "libc.so.6"],
            Soname = "libsynthetic.so.3",
            Rpath = "/opt/rpath",
            Runpath = "$ORIGIN/../lib:/opt/runpath",
            VersionsNeeded = [("libc.so.6", ["GLIBC_2.17", "GLIBC_2.34"]), ("libfoo.so.1", ["FOO_1.0"])],
        };
        string file = Path.Combine(_directory.Path, "synthetic.so");
        File.WriteAllBytes(file, spec.Build());

        var elf = ElfObject.Read(file);

        ShouldMatchReadelfDynamic(file, elf);
        elf.Is64.Should().Be(is64);
        elf.IsBigEndian.Should().Be(bigEndian);
        elf.Machine.Should().Be(spec.Machine);
        // readelf -V needs section headers, which this object has none of: its builder is the oracle here.
        elf.VersionsNeeded.Select(v => $"{v.File}:{string.Join(',', v.Versions)}").Should().Equal("libc.so.6:GLIBC_2.17,GLIBC_2.34", "libfoo.so.1:FOO_1.0");
    }

    [Fact]
    public void Does_not_need_the_section_headers()
    {
        const string Original = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";
        if (!File.Exists(Original)) Original.Should().Be("present", "pyenv 3.11.7 is a test prerequisite");
        byte[] bytes = File.ReadAllBytes(Original);
        bytes.AsSpan(0x28, 8).Clear(); // e_shoff
        bytes.AsSpan(0x3C, 4).Clear(); // e_shnum, e_shstrndx
        string stripped = Path.Combine(_directory.Path, "no-sections.so");
        File.WriteAllBytes(stripped, bytes);

        ShouldMatchReadelf(Original, ElfObject.Read(stripped));
    }

    [Fact]
    public void A_static_executable_has_no_dynamic_section()
    {
        File.WriteAllText(Path.Combine(_directory.Path, "s.c"), "void _start(void) { for (;;); }\n");
        string file = Path.Combine(_directory.Path, "static");
        Run.Checked("gcc", ["-static", "-nostdlib", "-o", file, Path.Combine(_directory.Path, "s.c")]);

        var elf = ElfObject.Read(file);

        elf.IsDynamic.Should().BeFalse();
        elf.Needed.Should().BeEmpty();
        elf.Type.Should().Be(ElfObject.TypeExecutable);
    }

    private string Compile(string compiler, string[] extra, string name)
    {
        string source = Path.Combine(_directory.Path, "lib.c");
        File.WriteAllText(source, "#include <math.h>\n#include <string.h>\ndouble f(double x) { return cos(x) + strlen(\"a\"); }\n");
        string file = Path.Combine(_directory.Path, name);
        Run.Checked(compiler, ["-shared", "-fPIC", "-o", file, source, "-Wl,-soname," + name + ".1", "-Wl,--no-as-needed", "-lm", "-Wl,-rpath,$ORIGIN/../lib", .. extra]);
        return file;
    }

    private static void ShouldMatchReadelf(string file, ElfObject elf)
    {
        ShouldMatchReadelfDynamic(file, elf);
        var expected = new List<string>();
        foreach (string line in Run.Checked("readelf", ["-VW", file]).Split('\n'))
        {
            if (VersionFile().Match(line) is { Success: true } f) expected.Add("file " + f.Groups[1].Value);
            else if (VersionName().Match(line) is { Success: true } n && expected.Count > 0) expected.Add("version " + n.Groups[1].Value);
        }
        elf.VersionsNeeded.SelectMany(v => v.Versions.Select(x => "version " + x).Prepend("file " + v.File)).Should().Equal(expected, file);
    }

    private static void ShouldMatchReadelfDynamic(string file, ElfObject elf)
    {
        string dynamic = Run.Checked("readelf", ["-dW", file]);
        IEnumerable<string> Values(string type) => DynamicEntry().Matches(dynamic).Where(m => m.Groups[1].Value == type).Select(m => m.Groups[2].Value);
        elf.Needed.Should().Equal(Values("NEEDED"), file);
        elf.Soname.Should().Be(Values("SONAME").SingleOrDefault(), file);
        elf.Rpath.Should().Be(Values("RPATH").SingleOrDefault(), file);
        elf.Runpath.Should().Be(Values("RUNPATH").SingleOrDefault(), file);
        string header = Run.Checked("readelf", ["-hW", file]);
        elf.Is64.Should().Be(header.Contains("ELF64"), file);
        elf.IsBigEndian.Should().Be(header.Contains("big endian"), file);
    }

    [GeneratedRegex(@"\((NEEDED|SONAME|RPATH|RUNPATH)\)\s+[^\[]*\[(.*)\]")]
    private static partial Regex DynamicEntry();

    [GeneratedRegex(@"^\s*[0-9a-fx]+: Version: \d+\s+File: (\S+)\s+Cnt: \d+")]
    private static partial Regex VersionFile();

    [GeneratedRegex(@"^\s*0x[0-9a-f]+:\s+Name: (\S+)\s+Flags:")]
    private static partial Regex VersionName();
}
