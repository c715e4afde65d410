using System.Runtime.InteropServices;

// The codec libraries come from the system's library path only, never from the directory of the
// program (for the launcher, wherever a self-layout archive was downloaded to; it often runs as root).
[assembly: DefaultDllImportSearchPaths(DllImportSearchPath.System32)]

namespace Xar.SquashFs.Compression;

/// <summary>
/// A system codec library that the <c>[LibraryImport]</c> declarations bind to by file name. Codecs
/// call <see cref="EnsureLoaded"/> before their first native call, so a missing library surfaces as
/// one <see cref="SquashFsException"/> that says what to install, instead of a
/// <see cref="DllNotFoundException"/> from the middle of an image, and users of gzip alone never
/// need any of these libraries.
/// </summary>
internal sealed class NativeCodecLibrary(string fileName, string debianPackage)
{
    public static readonly NativeCodecLibrary Zstd = new(ZstdNative.LibraryName, "libzstd1");
    public static readonly NativeCodecLibrary Lzma = new(LzmaNative.LibraryName, "liblzma5");
    public static readonly NativeCodecLibrary Lz4 = new(Lz4Native.LibraryName, "liblz4-1");
    public static readonly NativeCodecLibrary Lzo = new(LzoNative.LibraryName, "liblzo2-2");

    private volatile bool _loaded;

    public string FileName { get; } = fileName;
    public string DebianPackage { get; } = debianPackage;

    /// <summary>Loads the library (once) or throws a message naming <paramref name="codec"/>, the file and the package.</summary>
    public void EnsureLoaded(string codec)
    {
        if (_loaded) return;
        // The same probing the runtime applies to this assembly's P/Invokes, so success here means
        // the generated stubs resolve to this library. A failure is not cached: installing the
        // package fixes a long-running process without a restart.
        if (!NativeLibrary.TryLoad(FileName, typeof(NativeCodecLibrary).Assembly, null, out _))
            throw new SquashFsException(
                $"{codec}: cannot load the native library {FileName}; install the Debian package {DebianPackage} (apt-get install {DebianPackage})");
        _loaded = true;
    }
}
