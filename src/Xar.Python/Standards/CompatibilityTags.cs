using System.Collections;

namespace Xar.Python.Standards;

/// <summary>
/// The PEP 425 tags a target interpreter supports, most specific first, in exactly the order of
/// packaging's <c>sys_tags()</c> (which pip uses): for CPython, <c>cpXY-&lt;abi&gt;-&lt;platform&gt;</c>
/// for each platform, then <c>cpXY-abi3</c>, <c>cpXY-none</c>, <c>abi3</c> of the older minors;
/// then <c>pyXY-none-&lt;platform&gt;</c>, <c>cpXY-none-any</c>, <c>pyXY-none-any</c>. The platforms
/// on Linux are <c>manylinux_2_X_arch</c> from the interpreter's glibc down (with the legacy
/// manylinux2014/2010/1 aliases beside their glibc), <c>musllinux_1_X_arch</c>, then <c>linux_arch</c>.
/// A wheel's priority is the index of its best tag: lower is more specific.
/// </summary>
public sealed class CompatibilityTags : IReadOnlyList<WheelTag>
{
    // packaging._manylinux: the oldest glibc each architecture's manylinux tags go down to, is one
    // below this; x86 goes back to manylinux1 (glibc 2.5), everything else starts at 2.17.
    private static readonly LibcVersion OldestGlibcX86 = new(2, 5);
    private static readonly LibcVersion OldestGlibcOther = new(2, 17);

    // For a glibc major below the running one, packaging assumes minors up to 50 exist.
    private const int LastGlibcMinor = 50;

    private static readonly Dictionary<LibcVersion, string> LegacyManylinux = new()
    {
        [new LibcVersion(2, 17)] = "manylinux2014",
        [new LibcVersion(2, 12)] = "manylinux2010",
        [new LibcVersion(2, 5)] = "manylinux1",
    };

    private static readonly HashSet<string> ArchitecturesWithoutAbiCheck =
        ["x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"];

    private const int ElfMachineI386 = 3;
    private const int ElfMachineArm = 40;
    private const uint ArmAbiMask = 0xFF000000;
    private const uint ArmAbiVersion5 = 0x05000000;
    private const uint ArmHardFloat = 0x00000400;

    private readonly WheelTag[] _tags;
    private readonly Dictionary<WheelTag, int> _priorities;

    private CompatibilityTags(WheelTag[] tags, IReadOnlyList<string> platforms)
    {
        _tags = tags;
        Platforms = platforms;
        _priorities = new Dictionary<WheelTag, int>(tags.Length);
        for (int i = 0; i < tags.Length; i++) _priorities.TryAdd(tags[i], i);
    }

    /// <summary>The platform tags, most specific first (<c>manylinux_2_36_x86_64</c> … <c>linux_x86_64</c>).</summary>
    public IReadOnlyList<string> Platforms { get; }

    public int Count => _tags.Length;

    public WheelTag this[int index] => _tags[index];

    /// <summary>Probes <paramref name="pythonPath"/> and computes its tags.</summary>
    public static CompatibilityTags ForInterpreter(string pythonPath) => ForInterpreter(InterpreterProbe.Run(pythonPath).Facts);

    /// <summary>The tags of the interpreter the facts describe.</summary>
    /// <exception cref="PlatformNotSupportedException">macOS: its tags are not computed (xar targets Linux).</exception>
    public static CompatibilityTags ForInterpreter(InterpreterFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var platforms = facts.PlatformTags?.ToArray() ?? PlatformTags(facts).ToArray();
        var tags = new List<WheelTag>();
        string name = ShortName(facts.Implementation);
        string version = $"{facts.MajorVersion}{facts.MinorVersion}";
        string? interpreterForAny;
        if (name == "cp")
        {
            AddCPythonTags(tags, facts, platforms);
            interpreterForAny = "cp" + version;
        }
        else
        {
            AddGenericTags(tags, name + version, GenericAbis(facts), platforms);
            interpreterForAny = name == "pp" ? "pp3" : null;
        }
        AddCompatibleTags(tags, facts.MajorVersion, facts.MinorVersion, interpreterForAny, platforms);
        return new CompatibilityTags([.. tags], platforms);
    }

    /// <summary>The index of <paramref name="tag"/>, or null when the interpreter does not support it.</summary>
    public int? PriorityOf(WheelTag tag) => _priorities.TryGetValue(tag, out int index) ? index : null;

    /// <summary>The index of the wheel's best supported tag, or null when it supports none.</summary>
    public int? PriorityOf(WheelFilename wheel)
    {
        ArgumentNullException.ThrowIfNull(wheel);
        int? best = null;
        foreach (var tag in wheel.Tags)
            if (_priorities.TryGetValue(tag, out int index) && (best is null || index < best))
                best = index;
        return best;
    }

    public bool IsCompatible(WheelFilename wheel) => PriorityOf(wheel) is not null;

    /// <summary>
    /// The wheel pip would install from these: among the compatible ones, the highest version;
    /// among those, the most specific tag; then the highest build tag. Null when none is compatible.
    /// </summary>
    public WheelFilename? SelectBest(IEnumerable<WheelFilename> wheels)
    {
        ArgumentNullException.ThrowIfNull(wheels);
        WheelFilename? best = null;
        int bestPriority = int.MaxValue;
        foreach (var wheel in wheels)
        {
            if (PriorityOf(wheel) is not { } priority) continue;
            if (best is null || IsPreferred(wheel, priority, best, bestPriority))
            {
                best = wheel;
                bestPriority = priority;
            }
        }
        return best;
    }

    public IEnumerator<WheelTag> GetEnumerator() => ((IEnumerable<WheelTag>)_tags).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static bool IsPreferred(WheelFilename candidate, int priority, WheelFilename current, int currentPriority)
    {
        int byVersion = candidate.Version.CompareTo(current.Version);
        if (byVersion != 0) return byVersion > 0;
        if (priority != currentPriority) return priority < currentPriority;
        return (candidate.BuildTag, current.BuildTag) switch
        {
            (null, _) => false,
            (_, null) => true,
            ({ } a, { } b) => a.CompareTo(b) > 0,
        };
    }

    private static string ShortName(string implementation) => implementation switch
    {
        "python" => "py",
        "cpython" => "cp",
        "pypy" => "pp",
        "ironpython" => "ip",
        "jython" => "jy",
        _ => implementation,
    };

    // packaging.tags._cpython_abis: the full ABI (cp37dm, cp313t, cp311d) first, and for a debug
    // build of 3.8+ also the same ABI without "d".
    private static List<string> CPythonAbis(InterpreterFacts facts)
    {
        var version = (facts.MajorVersion, facts.MinorVersion);
        string nodot = $"{facts.MajorVersion}{facts.MinorVersion}";
        string debug = facts.Debug ? "d" : "";
        string threading = version.CompareTo((3, 13)) >= 0 && facts.FreeThreaded ? "t" : "";
        string pymalloc = "", wideUnicode = "";
        var abis = new List<string>();
        if (version.CompareTo((3, 8)) < 0)
        {
            if (facts.Pymalloc) pymalloc = "m";
            if (version.CompareTo((3, 3)) < 0 && facts.WideUnicode) wideUnicode = "u";
        }
        else if (facts.Debug)
        {
            abis.Add($"cp{nodot}{threading}");
        }
        abis.Insert(0, $"cp{nodot}{threading}{debug}{pymalloc}{wideUnicode}");
        return abis;
    }

    private static void AddCPythonTags(List<WheelTag> tags, InterpreterFacts facts, string[] platforms)
    {
        string interpreter = $"cp{facts.MajorVersion}{facts.MinorVersion}";
        var abis = CPythonAbis(facts);
        foreach (string abi in abis)
            foreach (string platform in platforms)
                tags.Add(new WheelTag(interpreter, abi, platform));

        // abi3 (the stable ABI) exists from 3.2, and not for free-threaded builds.
        bool threaded = abis[0].AsSpan(2).TrimStart("0123456789").Contains('t');
        bool useAbi3 = (facts.MajorVersion, facts.MinorVersion).CompareTo((3, 2)) >= 0 && !threaded;
        if (useAbi3)
            foreach (string platform in platforms)
                tags.Add(new WheelTag(interpreter, "abi3", platform));
        foreach (string platform in platforms)
            tags.Add(new WheelTag(interpreter, "none", platform));
        if (useAbi3)
            for (int minor = facts.MinorVersion - 1; minor > 1; minor--)
                foreach (string platform in platforms)
                    tags.Add(new WheelTag($"cp{facts.MajorVersion}{minor}", "abi3", platform));
    }

    private static void AddGenericTags(List<WheelTag> tags, string interpreter, List<string> abis, string[] platforms)
    {
        if (!abis.Contains("none")) abis.Add("none");
        foreach (string abi in abis)
            foreach (string platform in platforms)
                tags.Add(new WheelTag(interpreter, abi, platform));
    }

    // packaging.tags._generic_abi: the ABI from EXT_SUFFIX (".pypy310-pp73-x86_64-linux-gnu.so"
    // gives "pypy310_pp73").
    private static List<string> GenericAbis(InterpreterFacts facts)
    {
        string? suffix = facts.ExtensionSuffix;
        if (string.IsNullOrEmpty(suffix) || suffix[0] != '.')
            throw new InvalidOperationException($"The interpreter's EXT_SUFFIX ('{suffix}') does not give its ABI.");
        string[] parts = suffix.Split('.');
        if (parts.Length < 3) return CPythonAbis(facts);
        string soabi = parts[1];
        string[] fields = soabi.Split('-');
        string abi;
        if (soabi.StartsWith("cpython", StringComparison.Ordinal)) abi = "cp" + fields[1];
        else if (soabi.StartsWith("cp", StringComparison.Ordinal)) abi = fields[0];
        else if (soabi.StartsWith("pypy", StringComparison.Ordinal)) abi = string.Join('-', fields.Take(2));
        else if (soabi.StartsWith("graalpy", StringComparison.Ordinal)) abi = string.Join('-', fields.Take(3));
        else if (soabi.Length > 0) abi = soabi;
        else return [];
        return [NormalizePlatformString(abi)];
    }

    private static void AddCompatibleTags(List<WheelTag> tags, int major, int minor, string? interpreter, string[] platforms)
    {
        var versions = new List<string> { $"py{major}{minor}", $"py{major}" };
        for (int older = minor - 1; older >= 0; older--) versions.Add($"py{major}{older}");

        foreach (string version in versions)
            foreach (string platform in platforms)
                tags.Add(new WheelTag(version, "none", platform));
        if (interpreter is not null) tags.Add(new WheelTag(interpreter, "none", "any"));
        foreach (string version in versions)
            tags.Add(new WheelTag(version, "none", "any"));
    }

    private static IEnumerable<string> PlatformTags(InterpreterFacts facts)
    {
        string platform = NormalizePlatformString(facts.Platform);
        if (facts.OperatingSystem == "Darwin")
            throw new PlatformNotSupportedException("Compatibility tags for macOS interpreters are not computed: xar targets Linux.");
        if (facts.OperatingSystem != "Linux" || !platform.StartsWith("linux_", StringComparison.Ordinal))
            return [platform];

        // A 32-bit interpreter on a 64-bit kernel installs 32-bit wheels.
        if (facts.Is32Bit)
            platform = platform switch
            {
                "linux_x86_64" => "linux_i686",
                "linux_aarch64" => "linux_armv8l",
                _ => platform,
            };
        string architecture = platform["linux_".Length..];
        string[] architectures = architecture == "armv8l" ? ["armv8l", "armv7l"] : [architecture];

        var platforms = new List<string>();
        platforms.AddRange(ManylinuxTags(facts, architectures));
        if (facts.Musl is { } musl)
            foreach (string arch in architectures)
                for (int minor = musl.Minor; minor >= 0; minor--)
                    platforms.Add($"musllinux_{musl.Major}_{minor}_{arch}");
        foreach (string arch in architectures) platforms.Add($"linux_{arch}");
        return platforms;
    }

    private static IEnumerable<string> ManylinuxTags(InterpreterFacts facts, string[] architectures)
    {
        if (facts.Glibc is not { } glibc || !HasManylinuxAbi(facts.Executable, architectures)) yield break;

        var oldest = architectures.Any(a => a is "x86_64" or "i686") ? OldestGlibcX86 : OldestGlibcOther;
        var newestPerMajor = new List<LibcVersion> { glibc };
        for (int major = glibc.Major - 1; major > 1; major--) newestPerMajor.Add(new LibcVersion(major, LastGlibcMinor));

        foreach (string arch in architectures)
            foreach (var newest in newestPerMajor)
            {
                int stopBelow = newest.Major == oldest.Major ? oldest.Minor : 0;
                for (int minor = newest.Minor; minor >= stopBelow; minor--)
                {
                    var version = new LibcVersion(newest.Major, minor);
                    yield return $"manylinux_{version.Major}_{version.Minor}_{arch}";
                    if (LegacyManylinux.TryGetValue(version, out string? legacy)) yield return $"{legacy}_{arch}";
                }
            }
    }

    // packaging._manylinux._have_compatible_abi: 32-bit ARM must be EABI5 hard-float, i686 must be
    // a 32-bit little-endian i386 executable; the 64-bit architectures need no check.
    private static bool HasManylinuxAbi(ElfHeaderFacts? executable, string[] architectures)
    {
        if (architectures.Contains("armv7l"))
            return executable is { Is64Bit: false, IsLittleEndian: true, Machine: ElfMachineArm } elf
                && (elf.Flags & ArmAbiMask) == ArmAbiVersion5
                && (elf.Flags & ArmHardFloat) == ArmHardFloat;
        if (architectures.Contains("i686"))
            return executable is { Is64Bit: false, IsLittleEndian: true, Machine: ElfMachineI386 };
        return architectures.Any(ArchitecturesWithoutAbiCheck.Contains);
    }

    private static string NormalizePlatformString(string text) => text.Replace('.', '_').Replace('-', '_').Replace(' ', '_');
}
