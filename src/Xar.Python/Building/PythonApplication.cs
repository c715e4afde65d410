using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

/// <summary>
/// What goes into a Python archive, whichever source it came from (a project built with pip,
/// wheels, an installed environment): the files laid out as docs/python-apps.md says
/// (<c>lib/python/…</c>, <c>bin/…</c>, <c>include/…</c>, <c>data/…</c>) and the root
/// distribution's scripts. To the builder's destination it is a source whose files are already
/// placed (<see cref="InstallScheme.Image"/>): its distributions' destination placed them.
/// </summary>
public sealed record PythonApplication : IDistributionSource
{
    public required IReadOnlyList<ImageEntry> Files { get; init; }

    /// <summary>The distribution the archive is for (its scripts are the archive's entries).</summary>
    public required string RootDistribution { get; init; }

    /// <summary>console_scripts and gui_scripts of the root distribution.</summary>
    public IReadOnlyList<EntryPoint> Scripts { get; init; } = [];

    /// <summary>
    /// The image paths the root distribution itself installs (its own tests are compiled like the
    /// rest of its code, docs/python-apps.md §5); null: every file is the application's own.
    /// </summary>
    public IReadOnlySet<string>? OwnFiles { get; init; }

    /// <summary>The root distribution's Requires-Python, recorded in the header.</summary>
    public string? RequiresPython { get; init; }

    string IDistributionSource.Origin => RootDistribution;

    public override string ToString() => $"the application {RootDistribution}";

    ShebangRewrite IDistributionSource.Shebangs => ShebangRewrite.WheelPlaceholder;

    InstallRecord? IDistributionSource.Record => null;

    IReadOnlyList<DistributionFile> IDistributionSource.GetFiles() =>
        [.. Files.Select(f => f.Type == ImageEntryType.Symlink
            ? DistributionFile.Symlink(InstallScheme.Image, f.Path, f.LinkTarget!, f.ModificationTime)
            : DistributionFile.File(InstallScheme.Image, f.Path, f.Content!, f.Permissions, f.ModificationTime))];
}

public enum BytecodeMode
{
    /// <summary>Sources plus unchecked-hash pycs in __pycache__ (default).</summary>
    Compiled,
    /// <summary>Sources only: every start compiles what it imports.</summary>
    None,
    /// <summary>Sourceless pycs in place of the sources (smaller; tracebacks show no source lines).</summary>
    Only,
}
