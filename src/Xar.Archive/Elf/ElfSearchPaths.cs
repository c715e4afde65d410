using System.Text;

namespace Xar.Archive.Elf;

/// <summary>
/// Makes an object the image carries search the image alone for its libraries: each entry of its
/// DT_RPATH and DT_RUNPATH that is not relative to $ORIGIN — a directory of the build host (pyenv's
/// <c>/root/.pyenv/versions/3.11.7/lib</c>), which the loader would probe at run time and load
/// from, should the running host have it — becomes the $ORIGIN-relative path of the image
/// directory that stands for it, or goes. The new string is written over the old one in
/// DT_STRTAB when it is no longer and no other name read from the table starts inside what it
/// overwrites (linkers merge string tails; the old string's bytes after the new NUL stay as they
/// were); otherwise the entry itself is removed from PT_DYNAMIC (the entries after it move up one
/// place: ld.so reads them in order and nothing names an entry by its place), which leaves the
/// launcher's LD_LIBRARY_PATH to find the image's libraries.
/// </summary>
public static class ElfSearchPaths
{
    private const long TagRpath = 15;

    /// <summary>Rewrites <paramref name="file"/> in place; returns whether anything changed.</summary>
    /// <param name="name">The object, in messages.</param>
    /// <param name="imagePath">Where the object is in the image (relative to its root).</param>
    /// <param name="imageDirectoryOf">The image directory (relative to the root) that stands for an absolute directory of the build host, or null to drop it.</param>
    /// <exception cref="ElfFormatException">The object is malformed.</exception>
    public static bool Confine(byte[] file, string name, string imagePath, Func<string, string?> imageDirectoryOf)
    {
        ElfObject elf = ElfObject.Read(new MemoryStream(file, writable: false), name);
        if (elf.Dynamic is not { } dynamic)
            return false;
        int entrySize = elf.Is64 ? 16 : 8;
        int entryCount = dynamic.EntryCount;
        string origin = Path.GetDirectoryName(imagePath) ?? "";
        bool changed = false;
        // From the last entry back, so that removing one leaves the places of those before it.
        foreach (var (entry, _, index) in dynamic.Paths.OrderByDescending(p => p.Entry))
        {
            long start = checked(dynamic.StringsOffset + index);
            int end = Array.IndexOf(file, (byte)0, checked((int)start));
            string old = Encoding.UTF8.GetString(file, (int)start, end - (int)start);
            string confined = Rewrite(old, origin, imageDirectoryOf);
            if (confined == old)
                continue;
            changed = true;
            byte[] replacement = Encoding.UTF8.GetBytes(confined);
            bool sharesBytes = dynamic.OtherStrings.Concat(dynamic.Paths.Select(p => p.StringIndex))
                .Any(other => other > index && other <= index + replacement.Length);
            if (replacement.Length > 0 && replacement.Length <= end - start && !sharesBytes)
            {
                replacement.CopyTo(file, start);
                file[start + replacement.Length] = 0;
                continue;
            }
            long at = checked(dynamic.TableOffset + (long)entry * entrySize);
            long next = checked(at + entrySize);
            long tableEnd = checked(dynamic.TableOffset + (long)entryCount * entrySize);
            Array.Copy(file, next, file, at, tableEnd - next);
            Array.Clear(file, (int)(tableEnd - entrySize), entrySize);
            entryCount--;
        }
        return changed;
    }

    /// <summary>
    /// The search path with each entry relative to $ORIGIN kept, each absolute one replaced by the
    /// image directory standing for it (relative to <paramref name="origin"/>, the object's image
    /// directory) or dropped, and the rest dropped: an empty or relative entry is relative to the
    /// working directory for ld.so.
    /// </summary>
    internal static string Rewrite(string searchPath, string origin, Func<string, string?> imageDirectoryOf)
    {
        var entries = new List<string>();
        foreach (string entry in searchPath.Split(':'))
        {
            string? confined = entry.Contains("$ORIGIN", StringComparison.Ordinal) || entry.Contains("${ORIGIN}", StringComparison.Ordinal)
                ? entry
                : entry.StartsWith('/') && imageDirectoryOf(Path.TrimEndingDirectorySeparator(entry)) is { } directory
                    ? Path.GetRelativePath("/" + origin, "/" + directory) is var relative && relative == "." ? "$ORIGIN" : "$ORIGIN/" + relative
                    : null;
            if (confined is not null && !entries.Contains(confined))
                entries.Add(confined);
        }
        return string.Join(':', entries);
    }
}
