using Xar.Archive.Elf;

namespace Xar.Archive.Tests.Elf;

/// <summary>
/// DT_RPATH/DT_RUNPATH confined to the image (<see cref="ElfSearchPaths"/>), against readelf and
/// the dynamic loader: a build host's directory becomes the $ORIGIN-relative image directory
/// standing for it when the new string fits, else the entry goes, and the program still runs.
/// </summary>
public sealed class ElfSearchPathsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    /// <summary>bin/main needing lib/libdemo.so, linked with <paramref name="searchPath"/>; returns the program's path.</summary>
    private string Build(string searchPath, bool runpath)
    {
        string lib = Directory.CreateDirectory(Path.Combine(_directory.Path, "lib")).FullName;
        string bin = Directory.CreateDirectory(Path.Combine(_directory.Path, "bin")).FullName;
        File.WriteAllText(Path.Combine(lib, "demo.c"), "int demo(int x) { return 2 * x; }\n");
        File.WriteAllText(Path.Combine(bin, "main.c"), "int demo(int);\nint main(void) { return demo(21) == 42 ? 0 : 3; }\n");
        Run.Checked("gcc", ["-shared", "-fPIC", "-o", Path.Combine(lib, "libdemo.so"), Path.Combine(lib, "demo.c")]);
        string main = Path.Combine(bin, "main");
        Run.Checked("gcc", ["-o", main, Path.Combine(bin, "main.c"), "-L" + lib, "-ldemo", "-Wl,-rpath," + searchPath,
            runpath ? "-Wl,--enable-new-dtags" : "-Wl,--disable-new-dtags"]);
        return main;
    }

    private static List<string> Dynamic(string file) =>
        [.. Run.Checked("readelf", ["-d", "-W", file]).Split('\n').Where(line => line.StartsWith(" 0x", StringComparison.Ordinal)).Select(line => line.Trim())];

    private static string? ImageDirectoryOf(string hostDirectory) => hostDirectory == "/build/host/lib" ? "lib" : null;

    [Theory]
    [InlineData(true, "RUNPATH", "Library runpath")]
    [InlineData(false, "RPATH", "Library rpath")]
    public void A_build_host_directory_becomes_the_image_directory_relative_to_the_origin_and_the_program_runs(bool runpath, string tag, string label)
    {
        string main = Build("/build/host/lib:/elsewhere/lib:$ORIGIN/../lib", runpath);
        byte[] file = File.ReadAllBytes(main);

        ElfSearchPaths.Confine(file, main, "bin/main", ImageDirectoryOf).Should().BeTrue();
        File.WriteAllBytes(main, file);

        List<string> dynamic = Dynamic(main);
        dynamic.Should().ContainSingle(line => line.Contains($"({tag})")).Which.Should().EndWith($"{label}: [$ORIGIN/../lib]");
        Run.Program(main, []).ExitCode.Should().Be(0, "the rewritten program finds its library in the tree");
        ElfSearchPaths.Confine(file, main, "bin/main", ImageDirectoryOf).Should().BeFalse("an object searching the image only is left as it is");
    }

    [Fact]
    public void A_search_path_whose_image_form_does_not_fit_loses_its_entry_and_the_other_entries_stay()
    {
        string main = Build("/b", runpath: true);
        List<string> before = Dynamic(main);
        byte[] file = File.ReadAllBytes(main);

        ElfSearchPaths.Confine(file, main, "bin/main", _ => "lib").Should().BeTrue();
        File.WriteAllBytes(main, file);

        before.Should().ContainSingle(line => line.Contains("(RUNPATH)"));
        Dynamic(main).Should().Equal(before.Where(line => !line.Contains("(RUNPATH)")), "the entries after it moved up one place, unchanged");
        Run.Program(main, [], environment: new Dictionary<string, string?> { ["LD_LIBRARY_PATH"] = Path.Combine(_directory.Path, "lib") })
            .ExitCode.Should().Be(0);
    }

    [Fact]
    public void Entries_relative_to_the_working_directory_are_dropped_and_origin_entries_kept()
    {
        ElfSearchPaths.Rewrite("/build/host/lib::lib:$ORIGIN/x:${ORIGIN}/y:/build/host/lib/", "a/b", ImageDirectoryOf)
            .Should().Be("$ORIGIN/../../lib:$ORIGIN/x:${ORIGIN}/y");
        ElfSearchPaths.Rewrite("/build/host/lib", "lib", ImageDirectoryOf).Should().Be("$ORIGIN");
    }
}
