using System.Text.RegularExpressions;
using Xar.Archive.Elf;

namespace Xar.Archive.Tests.Elf;

/// <summary>
/// The section stripper against readelf and the dynamic loader: a stripped object has no
/// .debug_* sections and no .symtab, the same dynamic symbols, dynamic section and program
/// headers, and still loads and runs (a program built here, pyenv's libpython); hostile bytes
/// give null (copied unchanged), never an exception.
/// </summary>
public sealed partial class ElfStripperTests : IDisposable
{
    private const string PyenvPython = "/root/.pyenv/versions/3.11.7/bin/python3.11";
    private const string PyenvLibpython = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_debug_build_loses_its_debug_sections_and_symbol_table_and_still_runs(bool m32)
    {
        string built = Directory.CreateDirectory(Path.Combine(_directory.Path, "built")).FullName;
        string stripped = Directory.CreateDirectory(Path.Combine(_directory.Path, "stripped")).FullName;
        File.WriteAllText(Path.Combine(built, "demo.c"), "int demo_twice(int x) { static int calls; calls++; return 2 * x + calls - 1; }\n");
        File.WriteAllText(Path.Combine(built, "main.c"), "int demo_twice(int);\nint main(void) { return demo_twice(20) + demo_twice(0) == 41 ? 0 : 3; }\n");
        string[] flags = m32 ? ["-m32", "-nostdlib", "-g"] : ["-g", "-O1"];
        Run.Checked("gcc", [.. flags, "-shared", "-fPIC", "-o", Path.Combine(built, "libdemo.so"), Path.Combine(built, "demo.c")]);
        if (!m32)
            Run.Checked("gcc", [.. flags, "-o", Path.Combine(built, "main"), Path.Combine(built, "main.c"), "-L" + built, "-ldemo", "-Wl,-rpath,$ORIGIN"]);

        foreach (string name in m32 ? (string[])["libdemo.so"] : ["libdemo.so", "main"])
        {
            string original = Path.Combine(built, name), copy = Path.Combine(stripped, name);
            Sections(original).Should().Contain(".debug_info").And.Contain(".symtab");
            byte[]? result = ElfStripper.Strip(File.ReadAllBytes(original));
            result.Should().NotBeNull();
            File.WriteAllBytes(copy, result!);
            File.SetUnixFileMode(copy, File.GetUnixFileMode(original));

            Sections(copy).Should().NotContain(s => s.StartsWith(".debug_") || s == ".symtab" || s == ".strtab")
                .And.Contain([".dynsym", ".dynstr", ".text", ".shstrtab"]);
            foreach (string[] options in (string[][])[["--dyn-syms", "-W"], ["-d", "-W"], ["-l", "-W"], ["-n", "-W"]])
                Readelf(copy, options).Should().Be(Readelf(original, options).Replace(original, copy), string.Join(' ', options));
            new FileInfo(copy).Length.Should().BeLessThan(new FileInfo(original).Length);
            ElfObject.Read(copy).Needed.Should().Equal(ElfObject.Read(original).Needed);
        }
        if (!m32)
            Run.Program(Path.Combine(stripped, "main"), []).ExitCode.Should().Be(0, "the stripped program and library load and run");
    }

    [Fact]
    public void Pyenvs_libpython_loses_most_of_its_size_and_still_runs_the_interpreter()
    {
        if (!File.Exists(PyenvLibpython)) PyenvLibpython.Should().Be("present", "pyenv 3.11.7 is a test prerequisite");
        byte[]? result = ElfStripper.Strip(File.ReadAllBytes(PyenvLibpython));
        result.Should().NotBeNull();
        string copy = Path.Combine(_directory.Path, Path.GetFileName(PyenvLibpython));
        File.WriteAllBytes(copy, result!);

        result!.Length.Should().BeLessThan((int)(new FileInfo(PyenvLibpython).Length / 2), "most of pyenv's libpython is debug information");
        Readelf(copy, ["--dyn-syms", "-W"]).Should().Be(Readelf(PyenvLibpython, ["--dyn-syms", "-W"]).Replace(PyenvLibpython, copy));
        // LD_LIBRARY_PATH comes before the interpreter's RUNPATH: the stripped copy is the one loaded.
        var run = Run.Program(PyenvPython, ["-I", "-c", "import ctypes, json, sqlite3; print([l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l][0])"],
            new Dictionary<string, string?> { ["LD_LIBRARY_PATH"] = _directory.Path });
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Trim().Should().Be(copy);
    }

    [Fact]
    public void An_object_without_debug_sections_is_left_alone()
    {
        byte[] plain = ElfStripper.Strip(File.ReadAllBytes(PyenvLibpython))!;
        ElfStripper.Strip(plain).Should().BeNull("there is nothing left to strip");
        ElfStripper.Strip("#!/bin/sh\necho not ELF\n"u8).Should().BeNull();
    }

    [Fact]
    public void Truncated_or_corrupted_objects_are_copied_unchanged_never_thrown()
    {
        string source = Path.Combine(_directory.Path, "small.c");
        File.WriteAllText(source, "int small(int x) { return x + 1; }\n");
        string library = Path.Combine(_directory.Path, "libsmall.so");
        Run.Checked("gcc", ["-g", "-shared", "-fPIC", "-o", library, source]);
        byte[] valid = File.ReadAllBytes(library);
        ElfStripper.Strip(valid).Should().NotBeNull();

        for (int length = 0; length < valid.Length; length += 13)
            ElfStripper.Strip(valid.AsSpan(0, length));
        var random = new Random(11);
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = (byte[])valid.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
            {
                // The ELF header and the section header table are where the fields are.
                int at = random.Next(2) == 0 ? random.Next(64) : valid.Length - 1 - random.Next(Math.Min(valid.Length, 2048));
                bytes[at] = (byte)random.Next(256);
            }
            byte[]? result = ElfStripper.Strip(bytes);
            if (result is not null)
                result.Length.Should().BeLessThanOrEqualTo(bytes.Length);
        }
    }

    private static List<string> Sections(string file) =>
        SectionName().Matches(Readelf(file, ["-S", "-W"])).Select(m => m.Groups[1].Value).ToList();

    private static string Readelf(string file, string[] options) => Run.Checked("readelf", [.. options, file]);

    [GeneratedRegex(@"^\s*\[\s*\d+\]\s+(\S+)", RegexOptions.Multiline)]
    private static partial Regex SectionName();
}
