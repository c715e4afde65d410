using System.Globalization;

namespace Xar.Archive.Elf;

/// <summary>glibc versions as XAR_REQUIRES_GLIBC records them ("2.34") and as symbol versions name them ("GLIBC_2.34").</summary>
public static class GlibcVersion
{
    /// <summary>"2.34" → 2.34.0.0 (every part filled, so that 2.34 and 2.34.0 compare equal); null for anything but two to four decimal numbers.</summary>
    public static Version? Parse(string text)
    {
        string[] parts = text.Split('.');
        if (parts.Length is < 2 or > 4)
            return null;
        var numbers = new int[4];
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Length is 0 or > 9 || !int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
                return null;
        }
        return new Version(numbers[0], numbers[1], numbers[2], numbers[3]);
    }

    /// <summary>"GLIBC_2.34" → "2.34"; null for any other version name (GLIBC_PRIVATE, GCC_3.0, …).</summary>
    public static string? OfSymbolVersion(string name) =>
        name.StartsWith("GLIBC_", StringComparison.Ordinal) && Parse(name["GLIBC_".Length..]) is not null ? name["GLIBC_".Length..] : null;
}
