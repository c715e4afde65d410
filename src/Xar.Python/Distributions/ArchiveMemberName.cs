namespace Xar.Python.Distributions;

/// <summary>
/// Checks the name of a member of a wheel or egg before it becomes an image path: a name that is
/// absolute, climbs with <c>..</c>, uses backslashes or a drive letter, or has empty or <c>.</c>
/// components could land outside its target directory ("zip slip"), and is refused.
/// </summary>
internal static class ArchiveMemberName
{
    /// <summary>The problem with <paramref name="name"/>, or null when it is a safe relative path (a trailing '/' marks a directory).</summary>
    public static string? FindProblem(string name)
    {
        if (name.Length == 0) return "the name is empty";
        if (name[0] == '/') return "the path is absolute";
        if (name.Contains('\\')) return "the path contains a backslash";
        if (name.Contains('\0')) return "the path contains a NUL character";
        if (name.Length >= 2 && name[1] == ':' && char.IsAsciiLetter(name[0])) return "the path starts with a drive letter";
        string[] parts = (name.EndsWith('/') ? name[..^1] : name).Split('/');
        foreach (string part in parts)
        {
            if (part == "..") return "the path climbs out of its directory with '..'";
            if (part is "" or ".") return "the path has an empty or '.' component";
        }
        return null;
    }
}
