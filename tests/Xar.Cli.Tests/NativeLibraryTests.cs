using Xar.Archive;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// An application on Debian's Python whose extension module (Debian's _brotli, C++) needs
/// libstdc++.so.6 and libgcc_s.so.1, built from /usr/lib/python3/dist-packages; once with the
/// library closure (the default) and once with --no-bundle-libs, the oracle that hiding the
/// host's libraries does break an archive that relies on them.
/// </summary>
public sealed class NativeLibraryArchives : IDisposable
{
    private const string Script = """
        import multiprocessing
        import os
        import subprocess
        import sys

        import brotli


        def round_trip(text):
            return brotli.decompress(brotli.compress(text.encode())).decode()


        def main():
            root = os.environ["XAR_MOUNT"] + "/"
            print("brotli", round_trip("xar"))
            with open("/proc/self/maps") as maps:
                libraries = sorted({line.split()[-1] for line in maps if "libstdc++" in line or "libgcc_s" in line})
            print("loaded", " ".join(library.replace(root, "") for library in libraries))
            shell = subprocess.run(["sh", "-c", "echo ${LD_LIBRARY_PATH-unset}"], stdout=subprocess.PIPE, universal_newlines=True)
            print("host program sees LD_LIBRARY_PATH", shell.stdout.strip())
            child = subprocess.run([sys.executable, "-c", "import brotli; print(brotli.decompress(brotli.compress(b'child')).decode())"],
                                   stdout=subprocess.PIPE, universal_newlines=True)
            print("sys.executable", child.returncode, child.stdout.strip())
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                print("spawn", pool.apply(round_trip, ("spawned",)))
        """;

    internal Workspace Workspace { get; } = new();

    public NativeLibraryArchives()
    {
        (Archive, BuildOutput, Unbundled) = Workspace.DisposeIfThrows(() =>
        {
            const string Site = "/usr/lib/python3/dist-packages";
            if (!File.Exists(Path.Combine(Site, "brotli.py")))
                throw new InvalidOperationException("python3-brotli (Debian) is a test prerequisite");
            string wheels = Workspace.Combine("wheels");
            new TestWheel
            {
                Name = "brotlidemo",
                RequiresDist = ["Brotli"],
                EntryPoints = "[console_scripts]\nbrotlidemo = brotlidemo:main\n",
                Files = new Dictionary<string, string> { ["brotlidemo.py"] = Script },
            }.WriteTo(wheels);
            string archive = Workspace.Combine("brotlidemo.xar");
            var result = XarTool.Run("build", "--wheels", wheels, "brotlidemo", "--from-env", Site, "--python", "/usr/bin/python3.11",
                "-o", archive, "--launcher", Launcher.Path);
            if (result.ExitCode != 0) throw new InvalidOperationException($"xar build failed: {result}");
            string unbundled = XarTool.Build(Workspace.Combine("unbundled.xar"), "--wheels", wheels, "brotlidemo", "--from-env", Site,
                "--python", "/usr/bin/python3.11", "--no-bundle-libs");
            return (archive, result.Stderr, unbundled);
        });
    }

    public string Archive { get; }
    public string BuildOutput { get; }
    public string Unbundled { get; }

    public void Dispose() => Workspace.Dispose();
}

public sealed class NativeLibraryTests(NativeLibraryArchives fixture) : IClassFixture<NativeLibraryArchives>
{
    /// <summary>A private mount namespace in which the host's libstdc++ and libgcc_s are /dev/null, then the command.</summary>
    private const string HideHostLibraries = """
        set -e
        for library in /usr/lib/x86_64-linux-gnu/libstdc++.so.6* /usr/lib/x86_64-linux-gnu/libgcc_s.so.1; do
            mount --bind /dev/null "$library"
        done
        exec "$@"
        """;

    private const string Expected =
        "brotli xar\n" +
        "loaded __xar__/lib/libgcc_s.so.1 __xar__/lib/libstdc++.so.6\n" +
        "host program sees LD_LIBRARY_PATH unset\n" +
        "sys.executable 0 child\n" +
        "spawn spawned\n";

    private RunResult Hidden(string archive) =>
        fixture.Workspace.Launch("unshare", ["-m", "sh", "-c", HideHostLibraries, "sh", archive], fixture.Workspace.Extraction);

    [Fact]
    public void The_build_reports_what_it_bundled()
    {
        fixture.BuildOutput.Should().MatchRegex(@"xar: bundled 2 native libraries \([0-9.]+ MiB\) in __xar__/lib: libgcc_s\.so\.1 libstdc\+\+\.so\.6; needs glibc 2\.\d+\n");
        using var archive = XarArchive.Open(fixture.Archive);
        archive.Header[XarHeaderKeys.LibraryPath].Should().Be("__xar__/lib");
        archive.Header[XarHeaderKeys.RequiresGlibc].Should().MatchRegex(@"^2\.\d+$");
    }

    [Fact]
    public void The_bundled_libraries_are_loaded_from_the_mount()
    {
        var result = fixture.Workspace.Launch(fixture.Archive);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be(Expected);
    }

    [Fact]
    public void The_archive_runs_with_the_hosts_copies_hidden()
    {
        var result = Hidden(fixture.Archive);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be(Expected);
    }

    [Fact]
    public void Without_the_closure_hiding_the_hosts_copies_breaks_it()
    {
        var result = Hidden(fixture.Unbundled);

        result.ExitCode.Should().NotBe(0, result.ToString());
        result.Stderr.Should().Contain("libstdc++.so.6");
    }

    [Fact]
    public void Host_programs_get_the_hosts_LD_LIBRARY_PATH_back()
    {
        var result = fixture.Workspace.Launch(fixture.Archive, environment: new Dictionary<string, string?> { ["LD_LIBRARY_PATH"] = "/opt/host/lib" });

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("host program sees LD_LIBRARY_PATH /opt/host/lib\n");
    }

    [Fact]
    public void A_needed_library_missing_at_build_fails_in_one_line()
    {
        string wheels = fixture.Workspace.Combine("wheels");
        var result = XarTool.Run("build", "--wheels", wheels, "brotlidemo", "--from-env", "/usr/lib/python3/dist-packages", "--python", "/usr/bin/python3.11",
            "--include-lib", "libxar-absent.so.9", "-o", fixture.Workspace.Combine("absent.xar"), "--launcher", Launcher.Path);

        result.ExitCode.Should().NotBe(0);
        result.Stderr.Should().MatchRegex(@"(?m)^xar: --include-lib needs libxar-absent\.so\.9: not in the image, not part of glibc and not found on this host \(searched [^\n]*\); install it, or pass --allow-missing-lib libxar-absent\.so\.9 if the target host provides it$");
        File.Exists(fixture.Workspace.Combine("absent.xar")).Should().BeFalse();
    }

    [Fact]
    public void A_distribution_known_to_dlopen_a_library_brings_it()
    {
        // A stand-in for cairocffi (it opens libcairo.so.2 with ffi.dlopen): only its name matters.
        string wheels = fixture.Workspace.Combine("dlopen-wheels");
        new TestWheel { Name = "cairocffi", Files = new Dictionary<string, string> { ["cairocffi/__init__.py"] = "" } }.WriteTo(wheels);
        new TestWheel
        {
            Name = "drawing",
            RequiresDist = ["cairocffi"],
            EntryPoints = "[console_scripts]\ndrawing = drawing:main\n",
            Files = new Dictionary<string, string> { ["drawing.py"] = "def main():\n    pass\n" },
        }.WriteTo(wheels);

        var result = XarTool.Run("build", "--wheels", wheels, "drawing", "--python", "/usr/bin/python3.11",
            "-o", fixture.Workspace.Combine("drawing.xar"), "--launcher", Launcher.Path);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stderr.Should().MatchRegex(@"(?m)^xar: bundled \d+ native libraries \([0-9.]+ MiB\) in __xar__/lib: [^\n]*\blibcairo\.so\.2\b[^\n]*\blibpixman-1\.so\.0\b");
        // Also under the development name that find_library's fallbacks ask dlopen for (xcffib: "libxcb.so").
        XarTool.Run("ls", "-l", fixture.Workspace.Combine("drawing.xar"), "__xar__/lib").Stdout.Should().MatchRegex(@"libcairo\.so -> libcairo\.so\.2\b");
    }

    [Fact]
    public void An_object_needing_a_newer_glibc_is_refused_at_launch_in_one_line()
    {
        // A library whose GLIBC_2.x version needs are made to read GLIBC_9.x: the same length, so nothing moves.
        string source = fixture.Workspace.Write("newglibc.c", "#include <string.h>\nvoid copy(char *to, const char *from, size_t n) { memcpy(to, from, n); }\n");
        string library = fixture.Workspace.Combine("libnewglibc.so.1");
        Run.Checked("cc", ["-shared", "-fPIC", "-o", library, source, "-Wl,-soname,libnewglibc.so.1"]);
        byte[] bytes = File.ReadAllBytes(library);
        int patched = 0;
        for (int i = 0; i + 8 < bytes.Length; i++)
        {
            if (bytes.AsSpan(i).StartsWith("GLIBC_2."u8)) { bytes[i + 6] = (byte)'9'; patched++; }
        }
        patched.Should().BeGreaterThan(0);
        File.WriteAllBytes(library, bytes);
        string archive = XarTool.Build(fixture.Workspace.Combine("newglibc.xar"), "--wheels", fixture.Workspace.Combine("wheels"), "brotlidemo",
            "--from-env", "/usr/lib/python3/dist-packages", "--python", "/usr/bin/python3.11", "--include-lib", library);

        var result = fixture.Workspace.Launch(archive);

        result.ExitCode.Should().Be(68, result.ToString());
        result.Stdout.Should().BeEmpty();
        result.Stderr.Should().MatchRegex(@"^xarexec: [^\n]*newglibc\.xar: needs glibc 9\.[0-9.]+ or newer \(XAR_REQUIRES_GLIBC\), this host has glibc 2\.\d+\n$");
        // The original runtime runs /bin/sh -e <mount>/__xar__/run.sh ARCHIVE ARGS instead: the script refuses the same way.
        string tree = fixture.Workspace.Combine("newglibc-tree");
        XarTool.Run("extract", archive, tree).ExitCode.Should().Be(0);
        var original = Run.Program("/bin/sh", ["-e", Path.Combine(tree, "__xar__", "run.sh"), archive]);
        original.ExitCode.Should().Be(68, original.ToString());
        original.Stdout.Should().BeEmpty();
        original.Stderr.Should().MatchRegex(@"^[^\n]*newglibc\.xar: needs glibc 9\.[0-9.]+ or newer \(XAR_REQUIRES_GLIBC\), this host has glibc 2\.\d+\n$");
    }
}
