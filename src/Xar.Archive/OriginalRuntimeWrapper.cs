using System.Text;

namespace Xar.Archive;

/// <summary>
/// The <c>/bin/sh</c> script that a raw archive in the xarexec layout names as XAREXEC_TARGET. The
/// original xarexec_fuse runs <c>/bin/sh -e &lt;mount&gt;/&lt;XAREXEC_TARGET&gt; &lt;archive&gt; ARGS…</c>
/// (docs/xar-layout.md §7): run that way, a target would see the archive as an extra first argument,
/// and an ELF target could not run at all. The wrapper drops that argument and executes the real
/// target — recorded as XAR_TARGET, which our launcher executes directly — so that under both
/// runtimes the target gets argv <c>[&lt;mount&gt;/&lt;target&gt;, ARGS…]</c>.
/// </summary>
public static class OriginalRuntimeWrapper
{
    /// <summary>Where the wrapper sits in the image (Python archives keep their run.sh in the same directory).</summary>
    public const string Path = "__xar__/exec.sh";

    /// <summary>Mode 0755, as the original builder gives its bootstrap script.</summary>
    public const int Permissions = 0x1ED;

    /// <summary>The script for <paramref name="target"/>, a path relative to the image root.</summary>
    /// <param name="libraryPath">XAR_LIBRARY_PATH (image directories, ':'-separated) to put in front of LD_LIBRARY_PATH as our launcher does, or null.</param>
    public static byte[] Script(string target, string? libraryPath = null) => Encoding.UTF8.GetBytes(
        "#!/bin/sh\n" +
        "# The original xarexec_fuse runs /bin/sh -e <mount>/__xar__/exec.sh <archive> ARGS...\n" +
        "# This runs the target as the xar launcher does (XAR_TARGET in the header): with ARGS only.\n" +
        "shift\n" +
        // Its own line: a failing command substitution inside exec's arguments would not stop
        // `sh -e`, and the target would be looked up from / on the host.
        "mount=$(CDPATH= cd -- \"${0%/*}/..\" && pwd) || exit 127\n" +
        (libraryPath is null ? "" : $"LD_LIBRARY_PATH={string.Join(':', libraryPath.Split(':').Select(d => "\"$mount\"/" + ShellQuote(d)))}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\nexport LD_LIBRARY_PATH\n") +
        $"exec \"$mount\"/{ShellQuote(target)} \"$@\"\n");

    private static string ShellQuote(string text) => "'" + text.Replace("'", "'\\''") + "'";
}
