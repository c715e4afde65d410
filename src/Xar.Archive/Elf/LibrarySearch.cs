namespace Xar.Archive.Elf;

/// <summary>
/// Where the dynamic loader of the build host looks for a library by name (ld.so(8)), for
/// objects of one machine and class: DT_RPATH of the object and of its loaders (only when the
/// object has no DT_RUNPATH), then DT_RUNPATH of the object, then the directories of
/// /etc/ld.so.conf (what ld.so.cache is built from, with its include globs), then the default
/// directories (the multiarch ones, lib64 on 64-bit, /lib and /usr/lib). LD_LIBRARY_PATH of the
/// build is deliberately not used: what an archive carries must not depend on a variable of
/// the shell that built it. A candidate of another machine or class is skipped, as ld.so skips it.
/// </summary>
public sealed class LibrarySearch
{
    private readonly Dictionary<string, ElfObject?> _candidates = new(StringComparer.Ordinal);

    /// <param name="machine">e_machine of the objects searched for.</param>
    /// <param name="is64">Their class.</param>
    /// <param name="configuration">The ld.so.conf to read (tests give their own; missing is allowed).</param>
    public LibrarySearch(ushort machine, bool is64, string configuration = "/etc/ld.so.conf")
    {
        Machine = machine;
        Is64 = is64;
        Multiarch = MultiarchTuple(machine, is64);
        var system = new List<string>();
        if (Multiarch is not null)
            system.AddRange([$"/lib/{Multiarch}", $"/usr/lib/{Multiarch}"]);
        if (is64)
            system.AddRange(["/lib64", "/usr/lib64"]);
        system.AddRange(["/lib", "/usr/lib"]);
        DefaultDirectories = system;
        ConfiguredDirectories = ReadConfiguration(configuration, new HashSet<string>(StringComparer.Ordinal));
    }

    public ushort Machine { get; }
    public bool Is64 { get; }

    /// <summary>The Debian multiarch tuple (x86_64-linux-gnu), or null for a machine this does not know.</summary>
    public string? Multiarch { get; }

    public IReadOnlyList<string> ConfiguredDirectories { get; }
    public IReadOnlyList<string> DefaultDirectories { get; }

    /// <summary>What $LIB expands to: Debian's multiarch directory where it exists, else lib64 or lib.</summary>
    public string LibToken => Multiarch is not null && Directory.Exists($"/lib/{Multiarch}") ? $"lib/{Multiarch}" : Is64 ? "lib64" : "lib";

    /// <summary>What $PLATFORM expands to (AT_PLATFORM of the machine).</summary>
    public string PlatformToken => Machine switch
    {
        ElfObject.MachineX86_64 => "x86_64",
        ElfObject.MachineAArch64 => "aarch64",
        ElfObject.MachineX86 => "i686",
        _ => "",
    };

    /// <summary>Whether <paramref name="elf"/> is of the machine and class searched for.</summary>
    public bool Matches(ElfObject elf) => elf.Machine == Machine && elf.Is64 == Is64;

    /// <summary>
    /// The directories of a DT_RPATH or DT_RUNPATH string, with $ORIGIN (<paramref name="origin"/>),
    /// $LIB and $PLATFORM expanded, each with whether it was relative to $ORIGIN; an empty entry
    /// is the current directory to ld.so, which an archive cannot mean, so it is dropped.
    /// </summary>
    public IEnumerable<(string Directory, bool FromOrigin)> Expand(string? path, string origin)
    {
        if (string.IsNullOrEmpty(path))
            yield break;
        foreach (string entry in path.Split(':'))
        {
            if (entry.Length == 0)
                continue;
            bool fromOrigin = entry.Contains("$ORIGIN", StringComparison.Ordinal) || entry.Contains("${ORIGIN}", StringComparison.Ordinal);
            yield return (entry
                .Replace("${ORIGIN}", origin).Replace("$ORIGIN", origin)
                .Replace("${LIB}", LibToken).Replace("$LIB", LibToken)
                .Replace("${PLATFORM}", PlatformToken).Replace("$PLATFORM", PlatformToken), fromOrigin);
        }
    }

    /// <summary>
    /// The file the build host's loader would load for <paramref name="name"/> in these
    /// directories, in order: the first that exists and is an ELF object of this machine and class.
    /// </summary>
    public (string Path, ElfObject Elf)? FindIn(IEnumerable<string> directories, string name)
    {
        foreach (string directory in directories)
        {
            string candidate = Path.Combine(directory, name);
            if (Candidate(candidate) is { } elf)
                return (candidate, elf);
        }
        return null;
    }

    /// <summary>The directories after an object's own RPATH/RUNPATH: ld.so.conf's, then the defaults.</summary>
    public IEnumerable<string> SystemDirectories => ConfiguredDirectories.Concat(DefaultDirectories);

    private ElfObject? Candidate(string path)
    {
        if (_candidates.TryGetValue(path, out var known))
            return known;
        ElfObject? elf = null;
        if (File.Exists(path))
        {
            try
            {
                elf = ElfObject.Read(path);
                if (!Matches(elf)) elf = null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file ld.so could not map either (a linker script, a truncated file): it goes on searching.
            }
        }
        return _candidates[path] = elf;
    }

    private static string? MultiarchTuple(ushort machine, bool is64) => machine switch
    {
        ElfObject.MachineX86_64 when is64 => "x86_64-linux-gnu",
        ElfObject.MachineAArch64 => "aarch64-linux-gnu",
        ElfObject.MachineX86 => "i386-linux-gnu",
        ElfObject.MachineArm => "arm-linux-gnueabihf",
        21 => "powerpc64le-linux-gnu",
        22 => "s390x-linux-gnu",
        243 => "riscv64-linux-gnu",
        _ => null,
    };

    /// <summary>ld.so.conf: a directory per line, '#' comments, "include GLOB" (relative to the file's directory), hwcap lines ignored.</summary>
    private static List<string> ReadConfiguration(string file, HashSet<string> seen)
    {
        var directories = new List<string>();
        if (!seen.Add(Path.GetFullPath(file)) || !File.Exists(file))
            return directories;
        foreach (string raw in File.ReadLines(file))
        {
            string line = raw.Split('#')[0].Trim();
            if (line.Length == 0 || line.StartsWith("hwcap ", StringComparison.Ordinal))
                continue;
            if (line.StartsWith("include", StringComparison.Ordinal) && line.Length > 7 && char.IsWhiteSpace(line[7]))
            {
                foreach (string pattern in line[8..].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    string full = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, pattern);
                    string directory = Path.GetDirectoryName(full)!;
                    if (!Directory.Exists(directory))
                        continue;
                    foreach (string included in Directory.EnumerateFiles(directory, Path.GetFileName(full)).Order(StringComparer.Ordinal))
                        directories.AddRange(ReadConfiguration(included, seen));
                }
                continue;
            }
            // Old ld.so.conf lines may carry "=TYPE" after the directory, or list several separated by commas or spaces.
            foreach (string directory in line.Split((char[])[' ', '\t', ',', ':'], StringSplitOptions.RemoveEmptyEntries))
            {
                string path = directory.Split('=')[0];
                if (path.StartsWith('/') && !directories.Contains(path))
                    directories.Add(path.TrimEnd('/'));
            }
        }
        return directories;
    }
}
