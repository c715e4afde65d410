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
        // Well above the size that was hashed by OpenSSL before (FileRegion.ManagedSha256Limit was 512 KiB).
        string archive = _sandbox.Archive(extraFiles: new Dictionary<string, string> { ["random.txt"] = RandomText() });
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

    [Fact]
    public void Libraries_next_to_a_self_layout_archive_are_never_loaded()
    {
        string archive = _sandbox.Archive(layout: XarLayout.Self, extraFiles: new Dictionary<string, string> { ["random.txt"] = RandomText() });
        // Planted beside the archive (a download directory): libm, which the launcher links, the zstd codec
        // of the image and the libcrypto that hashes it, each recording in a constructor that it ran.
        string source = Path.Combine(_sandbox.Root, "planted.c");
        foreach (string library in (string[])["libm.so.6", "libzstd.so.1", "libcrypto.so.3"])
        {
            File.WriteAllText(source, $$"""
                #include <fcntl.h>
                __attribute__((constructor)) static void planted(void) { open("{{_sandbox.Root}}/loaded-{{library}}", O_CREAT | O_WRONLY, 0600); }
                """);
            Run.Checked("cc", ["-shared", "-fPIC", "-o", Path.Combine(_sandbox.Root, library), source]);
        }

        RunResult result = _sandbox.Launch(archive, ["read:data.txt"], extraEnvironment: new Dictionary<string, string?> { ["XAR_MODE"] = "extract" });

        Directory.GetFiles(_sandbox.Root, "loaded-*").Should().BeEmpty(result.ToString());
        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be("mode=extract new=1\ndata from the image\n");
    }

    /// <summary>Random text compresses by about a quarter only: 1.5 MiB makes an image above 1 MiB.</summary>
    private static string RandomText()
    {
        byte[] random = new byte[1536 << 10];
        new Random(9).NextBytes(random);
        return Convert.ToBase64String(random);
    }
}
