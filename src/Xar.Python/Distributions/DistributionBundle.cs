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
    /// Installs the distributions into one <see cref="PythonImageDestination"/>, which refuses
    /// (<see cref="ConflictingFilesException"/>, listing every clash) two writing different files to one path.
    /// </summary>
    internal static DistributionBundle Create(Resolution resolution, IEnumerable<string> notes)
    {
        var destination = new PythonImageDestination();
        var allNotes = new List<string>(notes);
        allNotes.AddRange(resolution.Notes);
        foreach (var distribution in resolution.Distributions)
        {
            destination.Install(distribution);
            allNotes.AddRange(distribution.Notes.Select(note => $"{distribution}: {note}"));
        }
        var entries = destination.Complete();
        var owners = destination.Owners.ToDictionary(o => o.Key, o => (Distribution)o.Value, StringComparer.Ordinal);
        return new DistributionBundle(resolution, entries, owners, allNotes);
    }
}
