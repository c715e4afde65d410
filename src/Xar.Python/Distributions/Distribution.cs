using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Distributions;

/// <summary>
/// A distribution that can go into an archive: a wheel, or one installed in an environment. It
/// knows its metadata and requirements, and lists its files for a <see cref="PythonImageDestination"/>
/// to install. File contents are read lazily when the image is written, so a distribution must
/// stay undisposed until then.
/// </summary>
public abstract class Distribution : IDistributionSource, IDisposable
{
    private readonly Lazy<IReadOnlyList<Requirement>> _requirements;

    protected Distribution() => _requirements = new(() => ReadRequirements().Select(ParseRequirement).ToArray());

    /// <summary>The project name as its metadata spells it.</summary>
    public abstract string Name { get; }

    public string NormalizedName => DistributionName.Normalize(Name);

    /// <summary>The version as its metadata writes it.</summary>
    public abstract string VersionText { get; }

    /// <summary>The version, or null when <see cref="VersionText"/> is not a PEP 440 version (an old installed distribution).</summary>
    public PythonVersion? Version => PythonVersion.TryParse(VersionText, out var version) ? version : null;

    public abstract DistributionMetadata Metadata { get; }

    /// <summary>Its requirements (Requires-Dist, or requires.txt for eggs), markers not yet evaluated.</summary>
    /// <exception cref="InvalidRequirementException">One of them is malformed (the message names the distribution).</exception>
    public IReadOnlyList<Requirement> Requirements => _requirements.Value;

    /// <summary>Requires-Python, or null when absent or unparseable.</summary>
    public SpecifierSet? RequiresPython =>
        Metadata.Get("Requires-Python") is { } text && SpecifierSet.TryParse(text, out var specifiers) ? specifiers : null;

    /// <summary>Its entry points (console_scripts, gui_scripts, …); empty when it has no entry_points.txt.</summary>
    public abstract EntryPointsFile EntryPoints { get; }

    /// <summary>Where it comes from: the wheel file, or the metadata directory or egg of an installed distribution.</summary>
    public abstract string Origin { get; }

    /// <summary>What it has to say about its files: skipped files, guesses made.</summary>
    public abstract IReadOnlyList<string> Notes { get; }

    public abstract ShebangRewrite Shebangs { get; }

    public abstract InstallRecord? Record { get; }

    /// <summary>
    /// Its files and symlinks. Contents are opened when read; each read is independent, so the
    /// writer may read from several threads.
    /// </summary>
    public abstract IReadOnlyList<DistributionFile> GetFiles();

    /// <summary>The entries that install it alone into an image.</summary>
    public IReadOnlyList<ImageEntry> GetImageEntries()
    {
        var destination = new PythonImageDestination();
        destination.Install(this);
        return destination.Complete();
    }

    /// <summary>The raw requirement strings, in the Requires-Dist form.</summary>
    protected abstract IEnumerable<string> ReadRequirements();

    public override string ToString() => $"{Name} {VersionText}";

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }

    private Requirement ParseRequirement(string text)
    {
        try
        {
            return Requirement.Parse(text);
        }
        catch (InvalidRequirementException e)
        {
            throw new InvalidRequirementException(text, $"{this} ({Origin}) has an invalid requirement: {e.Message}");
        }
    }
}
