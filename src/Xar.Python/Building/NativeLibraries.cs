using System.Runtime.InteropServices;
using Xar.Archive;
using Xar.Archive.Elf;
using Xar.Interop;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

/// <summary>What <see cref="NativeLibraries.Collect"/> gives the image (a source, in <see cref="InstallScheme.Image"/>), the header and the bootstrap.</summary>
/// <param name="Libraries">The files to add to the image: copied libraries, and links to image files.</param>
/// <param name="LibraryPath">The image directory to put in front of LD_LIBRARY_PATH, or null when nothing was bundled.</param>
/// <param name="RequiredGlibc">The newest GLIBC_x.y any object of the image needs, or null.</param>
internal sealed record NativeLibraryResult(IReadOnlyList<DistributionFile> Libraries, string? LibraryPath, string? RequiredGlibc) : IDistributionSource
{
    public string Origin => "the native library closure";

    public ShebangRewrite Shebangs => ShebangRewrite.AnyPython;

    public InstallRecord? Record => null;

    public IReadOnlyList<DistributionFile> GetFiles() => Libraries;

    public override string ToString() => Origin;
}

/// <summary>
/// The native library closure of a Python image (docs/python-apps.md §7): every ELF object among
/// the image's files — the interpreter when it is in the image, extension modules, libraries
/// shipped in packages — gets the libraries it needs from the build host copied into
/// <see cref="LibraryClosure.ImageDirectory"/>, except glibc's and those the image provides.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>
    /// Libraries that distributions load with dlopen (ctypes, cffi's ffi.dlopen), which no
    /// DT_NEEDED names: added when the distribution is in the image. Not finding one on the
    /// build host is a warning (the application may not need it, or the target host may have it).
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string[]> KnownDlopened = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["cairocffi"] = ["libcairo.so.2"],
        ["xcffib"] = ["libxcb.so.1"],
        ["python-magic"] = ["libmagic.so.1"],
        ["fusepy"] = ["libfuse.so.2"],
        ["pyusb"] = ["libusb-1.0.so.0"],
        ["pyzbar"] = ["libzbar.so.0"],
        ["pyvips"] = ["libvips.so.42"],
        ["weasyprint"] = ["libgobject-2.0.so.0", "libpango-1.0.so.0", "libpangoft2-1.0.so.0", "libharfbuzz.so.0", "libfontconfig.so.1"],
    };

    /// <summary>
    /// The closure's libraries of <paramref name="files"/> (and links to image files that have a
    /// needed soname); with <paramref name="bundle"/> false only the glibc requirement is computed;
    /// with <paramref name="strip"/> the copies lose their debugging sections (<see cref="Copy"/>).
    /// </summary>
    /// <remarks>
    /// With <paramref name="crossPlatform"/> (a build for a machine other than the interpreter's),
    /// every ELF object must be for that machine and libraries are searched for that machine.
    /// </remarks>
    /// <exception cref="PythonBuildException">A needed library is found nowhere (and not allowed to be missing).</exception>
    /// <exception cref="IOException">An object is for another machine than <paramref name="crossPlatform"/>.</exception>
    public static NativeLibraryResult Collect(IReadOnlyList<ImageEntry> files, string interpreter, bool bundle, bool strip, IReadOnlyList<string> includeLibraries,
        IReadOnlyCollection<string> allowMissing, long time, Action<string>? notice, Action<string>? warning, TargetPlatform? crossPlatform = null)
    {
        var search = crossPlatform is null ? SearchFor(interpreter) : new LibrarySearch(crossPlatform.ElfMachine, is64: true);
        var objects = new List<(string, ElfObject)>();
        Span<byte> magic = stackalloc byte[4];
        foreach (var entry in files)
        {
            if (!MayBeElf(entry)) continue;
            try
            {
                using var stream = entry.Content!.OpenRead();
                if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || !ElfMagic.Starts(magic)) continue;
            }
            catch (IOException)
            {
                continue; // the writer reports a file it cannot read
            }
            try
            {
                using var stream = entry.Content!.OpenRead();
                objects.Add((entry.Path, ElfObject.Read(stream, entry.Path)));
            }
            catch (ElfFormatException e)
            {
                warning?.Invoke($"{e.Message}: not a loadable object, its libraries are not bundled");
                continue;
            }
            crossPlatform?.Check(objects[^1].Item2, entry.Path);
        }

        var paths = files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var includes = includeLibraries.Select(l => new IncludedLibrary(l, "--include-lib", Required: true)).ToList();
        foreach (string distribution in DistributionsIn(files))
        {
            if (KnownDlopened.TryGetValue(distribution, out var libraries))
                includes.AddRange(libraries.Select(l => new IncludedLibrary(l, $"{distribution} (loads it with dlopen)", Required: false)));
        }
        if (!bundle)
        {
            var glibcOnly = LibraryClosure.Compute(objects, paths, search, [], resolve: false);
            return new NativeLibraryResult([], null, glibcOnly.RequiredGlibc);
        }

        var closure = LibraryClosure.Compute(objects, paths, search, includes);
        var missing = closure.Missing.Where(m => m.Required && !allowMissing.Contains(m.Name)).ToList();
        if (missing.Count > 0)
        {
            string list = string.Join("; ", missing.Select(m => $"{m.Requester} needs {m.Name}"));
            throw new PythonBuildException($"{list}: not in the image, not part of glibc and not found on this host "
                + $"(searched RPATH/RUNPATH, /etc/ld.so.conf, {string.Join(", ", search.DefaultDirectories)}); install it, or pass --allow-missing-lib {missing[0].Name} if the target host provides it");
        }
        foreach (var m in closure.Missing.Where(m => !m.Required || allowMissing.Contains(m.Name)))
            warning?.Invoke($"{m.Requester} needs {m.Name}, not found on this host: the target host must provide it");

        var result = new List<DistributionFile>(closure.Libraries.Count + closure.Links.Count);
        foreach (var library in closure.Libraries)
        {
            string imagePath = $"{LibraryClosure.ImageDirectory}/{library.Name}";
            result.Add(DistributionFile.File(InstallScheme.Image, imagePath, Copy(library.SourcePath, imagePath, strip, InLibraryDirectory), 0b110_100_100, time));
        }
        foreach (var (name, target) in closure.Links)
            result.Add(DistributionFile.Symlink(InstallScheme.Image, $"{LibraryClosure.ImageDirectory}/{name}", "../../" + target, time));
        // A library loaded with dlopen is often asked for by its development name when
        // ctypes.util.find_library finds nothing (xcffib falls back to "libxcb.so"), and on a host
        // without the library find_library cannot see the image's: give it that name too.
        var names = closure.Libraries.Select(l => l.Name).Concat(closure.Links.Select(l => l.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var included in includes)
        {
            int version = included.NameOrPath.IndexOf(".so.", StringComparison.Ordinal);
            if (included.NameOrPath.Contains('/') || version < 0 || !names.Contains(included.NameOrPath)) continue;
            string developmentName = included.NameOrPath[..(version + 3)];
            if (names.Add(developmentName))
                result.Add(DistributionFile.Symlink(InstallScheme.Image, $"{LibraryClosure.ImageDirectory}/{developmentName}", included.NameOrPath, time));
        }
        if (closure.Libraries.Count == 0 && closure.Links.Count == 0)
            return new NativeLibraryResult([], null, closure.RequiredGlibc);

        long size = closure.Libraries.Sum(l => new FileInfo(l.SourcePath).Length);
        notice?.Invoke($"bundled {closure.Libraries.Count} native {(closure.Libraries.Count == 1 ? "library" : "libraries")} ({size / 1048576.0:F1} MiB) in {LibraryClosure.ImageDirectory}"
            + (closure.Libraries.Count > 0 ? ": " + string.Join(' ', closure.Libraries.Select(l => l.Name)) : "")
            + (closure.Links.Count > 0 ? $"; linked {string.Join(' ', closure.Links.Select(l => l.Name))} from the image" : "")
            + (closure.RequiredGlibc is { } glibc ? $"; needs glibc {glibc}" : ""));
        return new NativeLibraryResult(result, LibraryClosure.ImageDirectory, closure.RequiredGlibc);
    }

    /// <summary>
    /// The content of a file copied from outside the application (the interpreter, libpython,
    /// lib-dynload, the library closure) to <paramref name="imagePath"/>: an ELF object loses its
    /// debugging sections and symbol table when <paramref name="strip"/> (<see cref="ElfStripper"/>;
    /// pyenv's libpython is 23 MB with them, 4 MB without), and its DT_RPATH/DT_RUNPATH name
    /// directories of the image only (<see cref="ElfSearchPaths"/>: a build host's directory is
    /// the image directory <paramref name="imageDirectoryOf"/> gives, else dropped). Anything else,
    /// or an object neither changes, is copied as it is. The changed bytes are made again when the
    /// writer reads them, so that a large closure is not held in memory.
    /// </summary>
    public static FileContent Copy(string hostPath, string imagePath, bool strip, Func<string, string?> imageDirectoryOf)
    {
        if (!ElfObject.IsElf(hostPath)) return FileContent.FromFile(hostPath);
        byte[]? copied = Transform(hostPath, imagePath, strip, imageDirectoryOf);
        if (copied is null) return FileContent.FromFile(hostPath);
        return FileContent.FromStream(
            () => new MemoryStream(Transform(hostPath, imagePath, strip, imageDirectoryOf) is { } again && again.Length == copied.Length
                ? again : throw new IOException($"{hostPath}: changed while the archive was written"), writable: false),
            copied.Length, hostPath);
    }

    /// <summary>A library of the closure, in <see cref="LibraryClosure.ImageDirectory"/> with the rest: whatever build host directory its search path names, the closure put what it found there beside it.</summary>
    internal static readonly Func<string, string?> InLibraryDirectory = _ => LibraryClosure.ImageDirectory;

    /// <summary>The object stripped and confined (<see cref="Copy"/>), or null when neither changes it.</summary>
    private static byte[]? Transform(string hostPath, string imagePath, bool strip, Func<string, string?> imageDirectoryOf)
    {
        byte[] original = File.ReadAllBytes(hostPath);
        byte[]? stripped = strip ? ElfStripper.Strip(original) : null;
        byte[] copy = stripped ?? original;
        try
        {
            return ElfSearchPaths.Confine(copy, hostPath, imagePath, imageDirectoryOf) ? copy : stripped;
        }
        catch (ElfFormatException)
        {
            return stripped; // the closure warns about a malformed object
        }
    }

    /// <summary>The interpreter's machine and class decide which objects count (a package may ship binaries for others).</summary>
    private static LibrarySearch SearchFor(string interpreter)
    {
        try
        {
            var elf = ElfObject.Read(RealPath.Of(interpreter));
            return new LibrarySearch(elf.Machine, elf.Is64);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not an ELF file (a wrapper script): the machine this build runs on.
            return RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.Arm64 => new LibrarySearch(ElfObject.MachineAArch64, is64: true),
                Architecture.X86 => new LibrarySearch(ElfObject.MachineX86, is64: false),
                Architecture.Arm => new LibrarySearch(ElfObject.MachineArm, is64: false),
                _ => new LibrarySearch(ElfObject.MachineX86_64, is64: true),
            };
        }
    }

    /// <summary>Shared objects carry ".so" in their names; executables have an execute bit. Nothing else is opened.</summary>
    private static bool MayBeElf(ImageEntry entry) =>
        entry.Type == ImageEntryType.File && entry.Content is { Length: >= 52 }
        && (Path.GetFileName(entry.Path).Contains(".so", StringComparison.Ordinal) || (entry.Permissions & 0b001_001_001) != 0);

    /// <summary>Normalized names of the distributions whose metadata directories are in the image.</summary>
    private static IEnumerable<string> DistributionsIn(IReadOnlyList<ImageEntry> files)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var entry in files)
        {
            if (!entry.Path.StartsWith(PythonArchiveBuilder.LibraryDirectory + "/", StringComparison.Ordinal)) continue;
            string[] parts = entry.Path[(PythonArchiveBuilder.LibraryDirectory.Length + 1)..].Split('/');
            if (!(parts[0].EndsWith(".dist-info", StringComparison.Ordinal) || parts[0].EndsWith(".egg-info", StringComparison.Ordinal)))
                continue;
            string stem = parts[0][..parts[0].LastIndexOf('.')];
            int dash = stem.IndexOf('-');
            names.Add(DistributionName.Normalize(dash < 0 ? stem : stem[..dash]));
        }
        return names;
    }
}
