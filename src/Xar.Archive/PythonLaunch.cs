namespace Xar.Archive;

/// <summary>
/// How a Python archive's interpreter is started (docs/python-apps.md §3). The builder writes it
/// into run.sh for the original runtime and the launcher executes it itself, so both take it from
/// here: the two must never differ.
/// </summary>
public static class PythonLaunch
{
    /// <summary>The <c>-c</c> program that starts the archive's bootstrap.</summary>
    public const string BootCommand = "import sys;sys.path[:0]=[__import__('os').environ['XAR_MOUNT']+'/__xar__'];import xar_bootstrap";

    /// <summary>
    /// The flags before <c>-c</c>: isolated from the host's site-packages and PYTHON* variables
    /// unless the archive was built to inherit them. Python 2 has no <c>-I</c>; <c>-E -s</c> is its equivalent.
    /// </summary>
    public static string[] IsolationFlags(int majorVersion, bool inheritSite) =>
        inheritSite ? [] : majorVersion >= 3 ? ["-I", "-S"] : ["-E", "-s", "-S"];
}
