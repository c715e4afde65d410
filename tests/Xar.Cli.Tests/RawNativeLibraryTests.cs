using Xar.Archive;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// <c>xar build --raw DIR --bundle-libs</c> (docs/python-apps.md §7): the directory's ELF objects
/// get their native library closure, as a Python image's do; without the option the directory is
/// packed as it is.
/// </summary>
public sealed class RawNativeLibraryTests : IDisposable
{
    private const string HideHostZlib = """
        set -e
        for library in /usr/lib/x86_64-linux-gnu/libz.so.1*; do
            mount --bind /dev/null "$library"
        done
        exec "$@"
        """;

    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();


    /// <summary>A program built here with gcc against the host's zlib, which is no part of glibc (seen failing without the closure: the host's libz hidden, it cannot start).</summary>
    [Theory]
    [InlineData("self")]
    [InlineData("xarexec")]
    public void A_program_linked_against_a_host_library_runs_from_the_archive_with_the_hosts_copy_hidden(string layout)
    {
        string directory = _workspace.Combine("tool");
        Directory.CreateDirectory(Path.Combine(directory, "bin"));
        File.WriteAllText(_workspace.Combine("tool.c"), "#include <stdio.h>\n#include <zlib.h>\nint main(void) { printf(\"zlib %s\\n\", zlibVersion()); return 0; }\n");
        Run.Checked("gcc", ["-o", Path.Combine(directory, "bin", "tool"), _workspace.Combine("tool.c"), "-lz"]);
        string version = Workspace.Native(Path.Combine(directory, "bin", "tool")).Stdout;
        string[] build = ["--raw", directory, "--exec", "bin/tool", "--layout", layout, "--compression", "lz4"];
        string bundled = XarTool.Build(_workspace.Combine($"bundled-{layout}.xar"), [.. build, "--bundle-libs"]);
        string plain = XarTool.Build(_workspace.Combine($"plain-{layout}.xar"), build);
        string[] launch = layout == "self" ? [] : [Launcher.Path];

        XarTool.Run("ls", bundled, "__xar__/lib").Stdout.Should().Contain("libz.so.1");
        using (var archive = XarArchive.Open(bundled))
        {
            archive.Header[XarHeaderKeys.LibraryPath].Should().Be("__xar__/lib");
            archive.Header[XarHeaderKeys.RequiresGlibc].Should().MatchRegex(@"^2\.\d+$");
        }
        using (var archive = XarArchive.Open(plain))
            archive.Header[XarHeaderKeys.LibraryPath].Should().BeNull("without --bundle-libs the directory is packed as it is");
        Hidden(plain, launch).ExitCode.Should().NotBe(0, "the host's libz is hidden and the plain archive has none");
        RunResult result = Hidden(bundled, launch);
        result.Should().Be(new RunResult(0, version, ""));
    }

    private RunResult Hidden(string archive, string[] launch) =>
        _workspace.Launch("unshare", ["-m", "sh", "-c", HideHostZlib, "sh", .. launch, archive], _workspace.Extraction);
}
