using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// The launcher needs only glibc on the host (docs/launcher.md §5): a minimal Debian has no
/// libssl, and hashing an image must not need it.
/// </summary>
public sealed class HostLibraryTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void The_launcher_links_only_against_glibc()
    {
        string[] libraries = Run.Checked("ldd", [Launcher.Path])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ')[0])
            .ToArray();

        libraries.Should().NotBeEmpty().And.OnlyContain(name =>
            name == "linux-vdso.so.1" || name.EndsWith("/ld-linux-x86-64.so.2") || name.EndsWith("/ld-linux-aarch64.so.1")
            || name == "libc.so.6" || name == "libm.so.6" || name == "libpthread.so.0" || name == "libdl.so.2" || name == "librt.so.1");
    }

    [Fact]
    public void Without_libssl_and_libcrypto_the_launcher_verifies_and_extracts_a_large_image()
    {
        // Random text compresses by about a quarter only: the image is well above the size that
        // was hashed by OpenSSL before (FileRegion.ManagedSha256Limit was 512 KiB).
        byte[] random = new byte[1536 << 10];
        new Random(9).NextBytes(random);
        string archive = _sandbox.Archive(extraFiles: new Dictionary<string, string> { ["random.txt"] = Convert.ToBase64String(random) });
        using (XarArchive opened = XarArchive.Open(archive))
            opened.ImageLength.Should().BeGreaterThan(1 << 20);

        // A private mount namespace in which every libssl and libcrypto is /dev/null: dlopen fails.
        const string HideOpenSsl = """
            set -e
            for library in $(find /lib /usr/lib /usr/local/lib -name 'libssl*.so*' -o -name 'libcrypto*.so*' 2>/dev/null); do
                mount --bind /dev/null "$library"
            done
            exec "$@"
            """;
        var environment = _sandbox.Env(new Dictionary<string, string?> { ["XAR_MODE"] = "extract" });
        RunResult result = Run.Program("unshare", ["-m", "sh", "-c", HideOpenSsl, "sh", Launcher.Path, archive, "read:data.txt"], environment);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be("mode=extract new=1\ndata from the image\n");
    }
}
