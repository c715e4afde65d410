using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// manylinux wheels repaired by auditwheel carry their shared libraries in a `NAME.libs`
/// directory next to the package, found through the extension's RPATH ($ORIGIN/…). None is
/// installed in pyenv's environments here; the Python bundled with the Google Cloud SDK has two,
/// cffi (cffi.libs/libffi) and google-crc32c (google_crc32c.libs/libcrc32c). A script of ours that
/// uses both is installed in a venv on top of it and built with --from-env.
/// </summary>
public sealed class BundledLibraryArchive : IDisposable
{
    private const string Script = """
        import os

        import _cffi_backend
        import google_crc32c


        def main():
            root = os.environ["XAR_MOUNT"] + "/"
            print(os.environ["XAR_RUN_MODE"], google_crc32c.implementation, google_crc32c.value(b"xar"))
            for module in (_cffi_backend, google_crc32c._crc32c):
                print("module", module.__file__.replace(root, ""))
            with open("/proc/self/maps") as maps:
                libraries = sorted({line.split()[-1] for line in maps if ".libs/" in line})
            for library in libraries:
                print("library", library.replace(root, ""))
        """;

    internal Workspace Workspace { get; } = new();

    public BundledLibraryArchive()
    {
        Archive = Workspace.DisposeIfThrows(() =>
        {
            string wheel = new TestWheel
            {
                Name = "crcdemo",
                RequiresDist = ["cffi", "google-crc32c"],
                EntryPoints = "[console_scripts]\ncrcdemo = crcdemo:main\n",
                Files = new Dictionary<string, string> { ["crcdemo.py"] = Script },
            }.WriteTo(Workspace.Combine("wheels"));
            string venv = VirtualEnvironment.CreateOnTopOf(Interpreters.Require(Interpreters.CloudSdkPython), Workspace.Combine("venv"), wheel);
            return XarTool.Build(Workspace.Combine("crcdemo.xar"), "--from-env", venv, "crcdemo");
        });
    }

    public string Archive { get; }

    public void Dispose() => Workspace.Dispose();
}

public sealed class BundledLibraryTests(BundledLibraryArchive fixture) : IClassFixture<BundledLibraryArchive>
{
    /// <summary>
    /// Modules and libraries inside the tree (paths relative to it); auditwheel names a bundled
    /// library after a hash of its content, so the SDK's next release may change the names.
    /// </summary>
    private static string Expected(string mode) =>
        $@"^{mode} c 220922483\n" +
        @"module lib/python/_cffi_backend\.cpython-3\d+-x86_64-linux-gnu\.so\n" +
        @"module lib/python/google_crc32c/_crc32c\.cpython-3\d+-x86_64-linux-gnu\.so\n" +
        @"library lib/python/cffi\.libs/libffi-[0-9a-f]{8}\.so[.0-9]*\n" +
        @"library lib/python/google_crc32c\.libs/libcrc32c-[0-9a-f]{8}\.so[.0-9]*\n$";

    [Fact]
    public void The_bundled_libraries_load_from_the_mount()
    {
        var result = fixture.Workspace.Launch(fixture.Archive);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().MatchRegex(Expected("mount"));
        result.Stderr.Should().BeEmpty();
    }

    [Fact]
    public void The_bundled_libraries_load_from_an_extraction()
    {
        var result = fixture.Workspace.Launch(fixture.Archive, environment: fixture.Workspace.Extraction);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().MatchRegex(Expected("extract"));
        result.Stderr.Should().BeEmpty();
    }
}
