namespace Xar.Archive;

/// <summary>
/// The rule every header value naming a file or directory of the image follows (XAREXEC_TARGET,
/// XAR_START_PROGRAM's image candidates, XAR_LIBRARY_PATH's directories): relative to the image
/// root and never climbing out of it. The builder, the launcher, the daemon and `xar verify` ask here.
/// </summary>
public static class ImagePaths
{
    /// <summary>What a path that breaks the rule is not, for one-line messages.</summary>
    public const string NotInside = "is not a path inside the image (empty, absolute, or with a '..' segment)";

    /// <summary>Non-empty, not absolute, and without a '..' segment.</summary>
    public static bool IsInside(string path) => path.Length > 0 && path[0] != '/' && !path.Split('/').Contains("..");
}
