namespace Xar.Python.Distributions;

/// <summary>
/// Where distribution files go in a Python archive's image (docs/python-apps.md §1). Paths are
/// relative to the image root and use '/'.
/// </summary>
public static class PythonImageLayout
{
    /// <summary>The archive's own site-packages: purelib and platlib files with their metadata directories.</summary>
    public const string SitePackages = "lib/python";

    /// <summary>Legacy scripts (a wheel's <c>.data/scripts/</c>).</summary>
    public const string Scripts = "bin";

    /// <summary>Headers (a wheel's <c>.data/headers/</c> go to a directory named after the distribution, as pip installs them).</summary>
    public const string Headers = "include";

    /// <summary>Data files (a wheel's <c>.data/data/</c>, installed relative to the prefix).</summary>
    public const string Data = "data";

    /// <summary>The image path of <paramref name="path"/> in <paramref name="scheme"/> (purelib and platlib are both the site-packages directory).</summary>
    public static string PathOf(InstallScheme scheme, string path) => scheme switch
    {
        InstallScheme.Purelib or InstallScheme.Platlib => $"{SitePackages}/{path}",
        InstallScheme.Scripts => $"{Scripts}/{path}",
        InstallScheme.Headers => $"{Headers}/{path}",
        InstallScheme.Data => $"{Data}/{path}",
        InstallScheme.Image => path,
        _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, null),
    };

    /// <summary>How a file under <see cref="SitePackages"/> names a file elsewhere in the image (in RECORD).</summary>
    internal static string FromSitePackages(string imagePath) =>
        imagePath.StartsWith(SitePackages + "/", StringComparison.Ordinal)
            ? imagePath[(SitePackages.Length + 1)..]
            : "../../" + imagePath;
}
