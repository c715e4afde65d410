using Xar.Archive.Elf;

namespace Xar.Archive.Tests.Elf;

/// <summary>The closure against ldd (the build host's own loader) and the rules of ld.so(8).</summary>
public sealed class LibraryClosureTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly LibrarySearch _search = new(ElfObject.MachineX86_64, is64: true);

    public void Dispose() => _directory.Dispose();

    public static TheoryData<string> Objects()
    {
        var data = new TheoryData<string>();
        foreach (string file in (string[])[
                     "/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
                     "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
                     "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so",
                     "/usr/lib/python3/dist-packages/_brotli.cpython-311-x86_64-linux-gnu.so",
                     "/usr/bin/python3.11",
                     "/root/.pyenv/versions/3.11.7/bin/python3.11",
                     "/usr/bin/curl",
                 ])
        {
            if (File.Exists(file)) data.Add(file);
        }
        return data;
    }

    /// <summary>Every library ldd lists but glibc's is bundled, from the file ldd found (symlinks resolved).</summary>
    [Theory]
    [MemberData(nameof(Objects))]
    public void Bundles_what_ldd_resolves(string file)
    {
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in Run.Checked("ldd", [file]).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] parts = line.Split(' ');
            if (parts.Length >= 3 && parts[1] == "=>" && !LibraryClosure.IsPartOfGlibc(parts[0]))
                expected[parts[0]] = new FileInfo(parts[2]).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? parts[2];
        }

        var closure = LibraryClosure.Compute([("app/object", ElfObject.Read(file))], new HashSet<string> { "app/object" }, _search, []);

        closure.Missing.Should().BeEmpty();
        closure.Libraries.ToDictionary(l => l.Name, l => l.SourcePath).Should().Equal(expected);
    }

    [Fact]
    public void Numpy_needs_the_blas_behind_the_alternatives_symlink()
    {
        const string Numpy = "/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so";
        if (!File.Exists(Numpy)) Numpy.Should().Be("present", "python3-numpy is a test prerequisite");

        var closure = LibraryClosure.Compute([("lib/python/numpy/core/umath.so", ElfObject.Read(Numpy))], new HashSet<string>(), _search, []);

        var blas = closure.Libraries.Should().ContainSingle(l => l.Name == "libblas.so.3").Subject;
        new FileInfo(blas.SourcePath).LinkTarget.Should().BeNull("the real file is copied, not the /etc/alternatives symlink");
        blas.NeededBy.Should().Be("lib/python/numpy/core/umath.so");
    }

    [Fact]
    public void A_library_the_image_reaches_through_origin_is_not_copied()
    {
        // An extension whose RUNPATH is $ORIGIN/../pkg.libs (auditwheel's layout), and that library in the image.
        string libs = _directory.Combine("pkg.libs");
        Directory.CreateDirectory(libs);
        string library = Compile("libvendored.so.1", "int vendored(void) { return 2; }\n", [], libs);
        string extension = Compile("ext.so", "int vendored(void);\nint f(void) { return vendored(); }\n",
            ["-L" + libs, "-l:libvendored.so.1", "-Wl,-rpath,$ORIGIN/../pkg.libs"], _directory.Path);
        var image = new HashSet<string> { "lib/python/pkg/ext.so", "lib/python/pkg.libs/libvendored.so.1" };

        var closure = LibraryClosure.Compute(
            [("lib/python/pkg/ext.so", ElfObject.Read(extension)), ("lib/python/pkg.libs/libvendored.so.1", ElfObject.Read(library))], image, _search, []);

        closure.Libraries.Should().BeEmpty();
        closure.Links.Should().BeEmpty();
        closure.Missing.Should().BeEmpty();
    }

    [Fact]
    public void A_soname_the_image_has_elsewhere_is_linked_not_copied()
    {
        // pyenv's python3.11 needs libpython3.11.so.1.0 through an absolute RUNPATH; the image carries it under lib/.
        const string Python = "/root/.pyenv/versions/3.11.7/bin/python3.11";
        const string Library = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";
        if (!File.Exists(Python)) Python.Should().Be("present", "pyenv 3.11.7 is a test prerequisite");

        var closure = LibraryClosure.Compute([("bin/python3.11", ElfObject.Read(Python)), ("lib/libpython3.11.so.1.0", ElfObject.Read(Library))],
            new HashSet<string> { "bin/python3.11", "lib/libpython3.11.so.1.0" }, _search, []);

        closure.Libraries.Select(l => l.Name).Should().NotContain("libpython3.11.so.1.0");
        closure.Links.Should().Equal(("libpython3.11.so.1.0", "lib/libpython3.11.so.1.0"));
    }

    [Fact]
    public void A_needed_library_found_nowhere_is_missing_naming_the_object()
    {
        string needer = Compile("needer.so", "int absent(void);\nint f(void) { return absent(); }\n",
            ["-L" + _directory.Path, "-l:libabsent.so.7"], _directory.Path, stub: ("libabsent.so.7", "int absent(void) { return 1; }\n"));
        File.Delete(_directory.Combine("libabsent.so.7"));

        var closure = LibraryClosure.Compute([("lib/python/needer.so", ElfObject.Read(needer))], new HashSet<string>(), _search, []);

        closure.Missing.Should().Equal(new MissingLibrary("lib/python/needer.so", "libabsent.so.7", Required: true));
    }

    [Fact]
    public void An_object_of_another_machine_is_ignored()
    {
        string other = Compile("other.so", "double cos(double);\ndouble f(double x) { return cos(x); }\n", [], _directory.Path, compiler: "aarch64-linux-gnu-gcc", extra: ["-lm"]);

        var closure = LibraryClosure.Compute([("lib/other.so", ElfObject.Read(other))], new HashSet<string>(), _search, []);

        closure.Libraries.Should().BeEmpty();
        closure.Missing.Should().BeEmpty();
        closure.RequiredGlibc.Should().BeNull();
    }

    [Fact]
    public void Included_libraries_bring_their_closure()
    {
        var closure = LibraryClosure.Compute([], new HashSet<string>(), _search, [new IncludedLibrary("libssl.so.3", "--include-lib", Required: true)]);

        closure.Libraries.Select(l => l.Name).Should().Equal("libcrypto.so.3", "libssl.so.3");
        closure.RequiredGlibc.Should().NotBeNull();
    }

    [Fact]
    public void The_newest_glibc_version_needed_is_recorded()
    {
        string file = _directory.Combine("synthetic.so");
        File.WriteAllBytes(file, new SyntheticElf
        {
            Needed = ["libc.so.6"],
            VersionsNeeded = [("libc.so.6", ["GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.9", "GLIBC_PRIVATE"])],
        }.Build());

        var closure = LibraryClosure.Compute([("lib/synthetic.so", ElfObject.Read(file))], new HashSet<string>(), _search, []);

        closure.RequiredGlibc.Should().Be("2.34");
    }

    [Theory]
    [InlineData("libc.so.6", true)]
    [InlineData("libpthread.so.0", true)]
    [InlineData("ld-linux-x86-64.so.2", true)]
    [InlineData("ld-linux-aarch64.so.1", true)]
    [InlineData("libcrypt.so.1", false)]
    [InlineData("libnsl.so.2", false)]
    [InlineData("libstdc++.so.6", false)]
    public void Glibc_is_never_bundled(string name, bool glibc) => LibraryClosure.IsPartOfGlibc(name).Should().Be(glibc);

    private string Compile(string name, string source, string[] arguments, string directory, (string Name, string Source)? stub = null,
        string compiler = "cc", string[]? extra = null)
    {
        if (stub is { } s)
        {
            string stubSource = _directory.Combine(s.Name + ".c");
            File.WriteAllText(stubSource, s.Source);
            Run.Checked("cc", ["-shared", "-fPIC", "-o", _directory.Combine(s.Name), stubSource, "-Wl,-soname," + s.Name]);
        }
        string file = Path.Combine(directory, name);
        string sourceFile = _directory.Combine(name + ".c");
        File.WriteAllText(sourceFile, source);
        Run.Checked(compiler, ["-shared", "-fPIC", "-o", file, sourceFile, "-Wl,-soname," + name, "-Wl,--no-as-needed", .. arguments, .. extra ?? []]);
        return file;
    }
}
