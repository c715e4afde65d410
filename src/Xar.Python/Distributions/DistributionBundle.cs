using System.Security.Cryptography;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Distributions;

/// <summary>
/// What the Python builder puts into an image for a set of requirements: every distribution
/// needed, the image entries that install them (one per path, sorted), and the root
/// distribution's scripts and Requires-Python. Contents are read from the wheels, eggs and files
/// when the image is written; dispose the bundle afterwards to close the wheels.
/// </summary>
public sealed class DistributionBundle : IDisposable
{
    private DistributionBundle(Resolution resolution, IReadOnlyList<ImageEntry> entries, IReadOnlyDictionary<string, Distribution> owners, IReadOnlyList<string> notes)
    {
        Roots = resolution.Roots;
        Distributions = resolution.Distributions;
        Extras = resolution.Extras;
        Entries = entries;
        Owners = owners;
        Notes = notes;
    }

    /// <summary>Every distribution included, the requested ones first.</summary>
    public IReadOnlyList<Distribution> Distributions { get; }

    /// <summary>The distributions the request named, in request order.</summary>
    public IReadOnlyList<Distribution> Roots { get; }

    /// <summary>The first requested distribution: the application. Null only when every requirement's marker excluded it.</summary>
    public Distribution? Root => Roots.Count > 0 ? Roots[0] : null;

    /// <summary>The extras each distribution was included with.</summary>
    public IReadOnlyDictionary<Distribution, IReadOnlyList<string>> Extras { get; }

    /// <summary>The image entries, one per path, ordered by path (ordinal).</summary>
    public IReadOnlyList<ImageEntry> Entries { get; }

    /// <summary>The distribution each image path comes from (the first one, for files several install identically).</summary>
    public IReadOnlyDictionary<string, Distribution> Owners { get; }

    /// <summary>The root's console_scripts.</summary>
    public IReadOnlyList<EntryPoint> ConsoleScripts => Root?.EntryPoints.ConsoleScripts.ToArray() ?? [];

    /// <summary>The root's gui_scripts.</summary>
    public IReadOnlyList<EntryPoint> GuiScripts => Root?.EntryPoints.GuiScripts.ToArray() ?? [];

    /// <summary>The root's Requires-Python, or null.</summary>
    public SpecifierSet? RequiresPython => Root?.RequiresPython;

    /// <summary>What the resolution and the distributions noted: skipped files, guesses, unknown extras, ignored files.</summary>
    public IReadOnlyList<string> Notes { get; }

    public void Dispose()
    {
        foreach (var distribution in Distributions) distribution.Dispose();
    }

    /// <summary>
    /// Collects the distributions' entries. Two entries at one path are fine when they are the
    /// same (identical bytes, or symlinks with the same target), as the <c>__init__.py</c> every
    /// portion of a pkg_resources-style namespace package ships; anything else is a
    /// <see cref="ConflictingFilesException"/> listing every clash.
    /// </summary>
    internal static DistributionBundle Create(Resolution resolution, IEnumerable<string> notes)
    {
        var entries = new Dictionary<string, ImageEntry>(StringComparer.Ordinal);
        var owners = new Dictionary<string, Distribution>(StringComparer.Ordinal);
        var conflicts = new List<string>();
        var allNotes = new List<string>(notes);
        allNotes.AddRange(resolution.Notes);
        foreach (var distribution in resolution.Distributions)
        {
            foreach (var entry in distribution.GetImageEntries())
            {
                if (entries.TryGetValue(entry.Path, out var existing))
                {
                    if (!AreSame(existing, entry))
                        conflicts.Add($"{entry.Path}: from {owners[entry.Path]} ({owners[entry.Path].Origin}) and {distribution} ({distribution.Origin})");
                    continue;
                }
                entries[entry.Path] = entry;
                owners[entry.Path] = distribution;
            }
            allNotes.AddRange(distribution.Notes.Select(note => $"{distribution}: {note}"));
        }

        // A file or symlink where another entry needs a directory.
        foreach (string path in entries.Keys)
            for (int slash = path.IndexOf('/'); slash > 0; slash = path.IndexOf('/', slash + 1))
                if (entries.TryGetValue(path[..slash], out var blocking) && blocking.Type != ImageEntryType.Directory)
                    conflicts.Add($"{path[..slash]}: a {blocking.Type.ToString().ToLowerInvariant()} from {owners[path[..slash]]}, but {owners[path]} puts {path} inside it");

        if (conflicts.Count > 0) throw new ConflictingFilesException(conflicts.Distinct().ToArray());
        var ordered = entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToArray();
        return new DistributionBundle(resolution, ordered, owners, allNotes);
    }

    private static bool AreSame(ImageEntry a, ImageEntry b)
    {
        if (a.Type != b.Type) return false;
        return a.Type switch
        {
            ImageEntryType.Symlink => a.LinkTarget == b.LinkTarget,
            ImageEntryType.Directory => true,
            ImageEntryType.File => a.Content!.Length == b.Content!.Length && Hash(a.Content).SequenceEqual(Hash(b.Content)),
            _ => false,
        };
    }

    private static byte[] Hash(FileContent content)
    {
        using var stream = content.OpenRead();
        return SHA256.HashData(stream);
    }
}
