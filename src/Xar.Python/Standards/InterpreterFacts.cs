namespace Xar.Python.Standards;

/// <summary>A C library version: glibc's for manylinux tags, musl's for musllinux tags.</summary>
public readonly record struct LibcVersion(int Major, int Minor) : IComparable<LibcVersion>
{
    public int CompareTo(LibcVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public override string ToString() => $"{Major}.{Minor}";
}

/// <summary>What an ELF executable's header says about the ABI it was built for.</summary>
/// <param name="Is64Bit">ELFCLASS64 rather than ELFCLASS32.</param>
/// <param name="Machine">e_machine: 3 is i386, 40 is ARM, 62 is x86-64.</param>
/// <param name="Flags">e_flags (ARM's EABI version and hard-float bits live here).</param>
/// <param name="ProgramInterpreter">The PT_INTERP path (the dynamic loader), if any.</param>
public sealed record ElfHeaderFacts(bool Is64Bit, bool IsLittleEndian, int Machine, uint Flags, string? ProgramInterpreter);

/// <summary>Where an interpreter's own files are: what a standalone archive carries (docs/python-apps.md §6).</summary>
/// <param name="Executable">The base interpreter's executable, symlinks resolved (a venv's base, not the venv's link).</param>
/// <param name="StandardLibrary">The directory of <c>os.py</c>.</param>
/// <param name="DynamicModules">The <c>lib-dynload</c> directory on <c>sys.path</c>, if any.</param>
/// <param name="SharedLibrary">The libpython the interpreter process mapped, or null when it is linked statically.</param>
/// <param name="PlatformLibraryDirectory"><c>sys.platlibdir</c> ("lib", "lib64"): where getpath looks for lib-dynload.</param>
public sealed record InterpreterInstallation(string Executable, string StandardLibrary, string? DynamicModules, string? SharedLibrary, string PlatformLibraryDirectory);

/// <summary>
/// The facts about a target interpreter that decide which wheels it can install (PEP 425): what
/// packaging's <c>sys_tags()</c> would read from the running interpreter. <see cref="InterpreterProbe"/>
/// collects them; tests and cross-builds may write them by hand.
/// </summary>
public sealed record InterpreterFacts
{
    /// <summary><c>sys.implementation.name</c>: "cpython", "pypy", …</summary>
    public required string Implementation { get; init; }

    public required int MajorVersion { get; init; }

    public required int MinorVersion { get; init; }

    /// <summary>A debug build (ABI flag <c>d</c>).</summary>
    public bool Debug { get; init; }

    /// <summary>Built with pymalloc (ABI flag <c>m</c>, which only Python 3.7 and older put in the tag).</summary>
    public bool Pymalloc { get; init; }

    /// <summary>UCS-4 <c>unicode</c> (ABI flag <c>u</c>, only Python 3.2 and older).</summary>
    public bool WideUnicode { get; init; }

    /// <summary>A free-threaded build (ABI flag <c>t</c>, Python 3.13 and later).</summary>
    public bool FreeThreaded { get; init; }

    /// <summary>sysconfig's <c>EXT_SUFFIX</c>, from which non-CPython interpreters derive their ABI tag.</summary>
    public string? ExtensionSuffix { get; init; }

    /// <summary><c>sysconfig.get_platform()</c>: "linux-x86_64", "linux-aarch64", "win-amd64", …</summary>
    public required string Platform { get; init; }

    /// <summary><c>platform.system()</c>: "Linux", "Darwin", "Windows".</summary>
    public required string OperatingSystem { get; init; }

    /// <summary>A 32-bit interpreter (pointers are 4 bytes), possibly on a 64-bit kernel.</summary>
    public bool Is32Bit { get; init; }

    /// <summary>The glibc the interpreter runs with, or null (musl, static, not Linux).</summary>
    public LibcVersion? Glibc { get; init; }

    /// <summary>The musl the interpreter is linked against, or null.</summary>
    public LibcVersion? Musl { get; init; }

    /// <summary>The interpreter executable's ELF header, or null when it is not ELF or was not read.</summary>
    public ElfHeaderFacts? Executable { get; init; }

    /// <summary>
    /// The platform tags, most specific first, when given rather than computed from the facts
    /// above: pip's <c>--platform</c> (<see cref="InterpreterProbe.ForPlatform"/>); null computes them.
    /// </summary>
    public IReadOnlyList<string>? PlatformTags { get; init; }
}
