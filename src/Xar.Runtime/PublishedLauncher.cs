namespace Xar.Runtime;

/// <summary>
/// Where the launcher executable is, for the xar CLI to copy to the front of self archives
/// (docs/launcher.md §5): <c>$XAR_LAUNCHER</c>; else <c>xarexec</c> next to the running program (an
/// installation); else <c>.artifacts/launcher/&lt;rid&gt;/xarexec</c> in a directory above it (a
/// source checkout, where <c>scripts/publish-launcher</c> puts it).
/// </summary>
public static class PublishedLauncher
{
    public const string EnvironmentVariable = "XAR_LAUNCHER";

    public const string FileName = "xarexec";

    public const string DefaultRuntimeIdentifier = "linux-x64";

    /// <summary>The checkout-relative path scripts/publish-launcher writes.</summary>
    public static string CheckoutPath(string runtimeIdentifier = DefaultRuntimeIdentifier) => $".artifacts/launcher/{runtimeIdentifier}/{FileName}";

    /// <summary>The launcher's path, or null when none of the places has one.</summary>
    public static string? Locate(string runtimeIdentifier = DefaultRuntimeIdentifier) =>
        Locate(Environment.GetEnvironmentVariable(EnvironmentVariable), AppContext.BaseDirectory, runtimeIdentifier);

    internal static string? Locate(string? configured, string programDirectory, string runtimeIdentifier)
    {
        if (!string.IsNullOrEmpty(configured))
            return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        string beside = Path.Combine(programDirectory, FileName);
        if (File.Exists(beside))
            return beside;
        for (var directory = new DirectoryInfo(programDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, CheckoutPath(runtimeIdentifier));
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
