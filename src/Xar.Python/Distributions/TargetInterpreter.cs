using Xar.Python.Standards;

namespace Xar.Python.Distributions;

/// <summary>
/// The interpreter an archive is built for, as far as choosing distributions goes: its marker
/// values (for requirements' markers and Requires-Python) and its supported wheel tags.
/// </summary>
/// <param name="Description">How messages name it: <c>/usr/bin/python3.11 (cpython 3.11.2, cp311-cp311-manylinux_2_36_x86_64)</c>.</param>
public sealed record TargetInterpreter(string Description, MarkerEnvironment Markers, CompatibilityTags Tags)
{
    /// <summary>Runs <paramref name="pythonPath"/> once (<see cref="InterpreterProbe"/>).</summary>
    public static TargetInterpreter Probe(string pythonPath) => FromProbe(InterpreterProbe.Run(pythonPath));

    public static TargetInterpreter FromProbe(InterpreterProbe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var tags = CompatibilityTags.ForInterpreter(probe.Facts);
        string best = tags.Count > 0 ? ", " + tags[0] : "";
        return new TargetInterpreter($"{probe.PythonPath} ({probe.Markers.ImplementationName} {probe.FullVersion}{best})", probe.Markers, tags);
    }

    /// <summary>The interpreter's version as Requires-Python compares it (python_full_version).</summary>
    public PythonVersion Version => PythonVersion.Parse(Markers.PythonFullVersion);
}
