using System.Runtime.InteropServices;

namespace Xar.Python.Distributions;

/// <summary>
/// The canonical path of a directory, with every symlink along it resolved (realpath(3)): a
/// venv's <c>lib64</c> is often a symlink to <c>lib</c>, and the same site-packages must not be
/// searched twice.
/// </summary>
internal static partial class RealPath
{
    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint NativeRealPath(string path, nint resolved);

    /// <summary>The resolved path, or the path itself when it cannot be resolved (it does not exist).</summary>
    public static unsafe string Of(string path)
    {
        nint resolved = NativeRealPath(path, 0);
        if (resolved == 0) return path;
        try
        {
            return Marshal.PtrToStringUTF8(resolved)!;
        }
        finally
        {
            NativeMemory.Free((void*)resolved);
        }
    }
}
