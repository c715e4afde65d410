using Xar.Interop;

namespace Xar.Python.Distributions;

/// <summary>
/// The canonical path of a directory, with every symlink along it resolved (realpath(3)): a
/// venv's <c>lib64</c> is often a symlink to <c>lib</c>, and the same site-packages must not be
/// searched twice.
/// </summary>
internal static class RealPath
{
    /// <summary>The resolved path, or the path itself when it cannot be resolved (it does not exist).</summary>
    public static string Of(string path) => LibC.RealPath(path) ?? path;
}
