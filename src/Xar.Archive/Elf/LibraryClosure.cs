namespace Xar.Archive.Elf;

/// <summary>A library of the build host that the image carries in <see cref="LibraryClosure.ImageDirectory"/>.</summary>
/// <param name="Name">The name objects ask for (DT_NEEDED, normally the soname): the file name in the image.</param>
/// <param name="SourcePath">The real file on the build host (symlinks resolved).</param>
/// <param name="NeededBy">The first object that needed it (an image path, a host path, or --include-lib).</param>
public sealed record BundledLibrary(string Name, string SourcePath, ElfObject Elf, string NeededBy);

/// <summary>A DT_NEEDED (or --include-lib) found nowhere.</summary>
/// <param name="Required">False for a library a known case suggests (loaded with dlopen): a warning, not an error.</param>
public sealed record MissingLibrary(string Requester, string Name, bool Required);

/// <summary>A library to add that nothing names in DT_NEEDED (it is loaded with dlopen).</summary>
/// <param name="NameOrPath">A soname searched for like DT_NEEDED, or a path to the file.</param>
/// <param name="Reason">Who asks for it, for messages: "--include-lib", "cairocffi", …</param>
/// <param name="Required">Whether not finding it is an error (else it is reported as missing, not required).</param>
public sealed record IncludedLibrary(string NameOrPath, string Reason, bool Required);

/// <summary>
/// The native libraries the ELF objects of an image need that neither glibc nor the image
/// provides (docs/python-apps.md §7): each DT_NEEDED of each object is resolved as the dynamic
/// loader would (<see cref="LibrarySearch"/>), transitively. A library is provided by the image
/// when an $ORIGIN-relative RPATH/RUNPATH of the object reaches it (auditwheel's .libs), or when
/// a file of the image has that soname (it is then linked from <see cref="ImageDirectory"/>);
/// otherwise the build host's file is copied into <see cref="ImageDirectory"/>, which the
/// launcher puts in front of LD_LIBRARY_PATH. Objects of another machine or class are ignored.
/// </summary>
public sealed class LibraryClosure
{
    /// <summary>Where the image carries the libraries, relative to its root.</summary>
    public const string ImageDirectory = "__xar__/lib";

    private readonly LibrarySearch _search;
    private readonly IReadOnlySet<string> _imagePaths;
    private readonly Dictionary<string, string> _imageSonames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BundledLibrary> _bundled = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);
    private readonly List<MissingLibrary> _missing = [];
    private readonly Queue<Item> _queue = new();
    private string? _glibc;

    private LibraryClosure(LibrarySearch search, IReadOnlySet<string> imagePaths)
    {
        _search = search;
        _imagePaths = imagePaths;
    }

    public IReadOnlyList<BundledLibrary> Libraries => [.. _bundled.Values.OrderBy(l => l.Name, StringComparer.Ordinal)];

    /// <summary>Names that an image file has as its soname but that no loader would find there: linked from <see cref="ImageDirectory"/> to that file.</summary>
    public IReadOnlyList<(string Name, string ImagePath)> Links => [.. _links.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => (l.Key, l.Value))];

    public IReadOnlyList<MissingLibrary> Missing => _missing;

    /// <summary>The newest GLIBC_x.y version any object (of the image or bundled) needs, e.g. "2.34"; null when none does.</summary>
    public string? RequiredGlibc => _glibc;

    /// <summary>
    /// Whether the library is part of glibc, which the host provides and which must match its
    /// dynamic loader, so it is never copied. libcrypt.so.1 is not among them: Debian's comes
    /// from libxcrypt, and newer glibc builds no longer ship it. Neither is libnsl.so.2 (libnsl2);
    /// libnsl.so.1 is glibc's compatibility copy.
    /// </summary>
    public static bool IsPartOfGlibc(string name) =>
        name is "libc.so.6" or "libm.so.6" or "libpthread.so.0" or "libdl.so.2" or "librt.so.1" or "libutil.so.1"
            or "libresolv.so.2" or "libanl.so.1" or "libnsl.so.1" or "libBrokenLocale.so.1" or "libmvec.so.1"
            or "libthread_db.so.1" or "libc_malloc_debug.so.0" or "libmemusage.so" or "libpcprofile.so" or "libSegFault.so"
            or "libc.so.6.1" or "libm.so.6.1"
        || name.StartsWith("ld-linux", StringComparison.Ordinal) || name.StartsWith("ld64.so.", StringComparison.Ordinal)
        || name.StartsWith("ld.so.", StringComparison.Ordinal) || name.StartsWith("libnss_", StringComparison.Ordinal);

    /// <param name="objects">The image's ELF objects by image path (objects of another machine are skipped).</param>
    /// <param name="imagePaths">Every path in the image (files and symlinks), relative to its root.</param>
    /// <param name="resolve">False: only <see cref="RequiredGlibc"/> of the image's own objects is computed.</param>
    public static LibraryClosure Compute(IReadOnlyList<(string ImagePath, ElfObject Elf)> objects, IReadOnlySet<string> imagePaths,
        LibrarySearch search, IReadOnlyList<IncludedLibrary> includes, bool resolve = true)
    {
        var closure = new LibraryClosure(search, imagePaths);
        var mine = objects.Where(o => search.Matches(o.Elf)).OrderBy(o => o.ImagePath, StringComparer.Ordinal).ToList();
        foreach (var (path, elf) in mine)
            closure._imageSonames.TryAdd(elf.Soname ?? Path.GetFileName(path), path);
        if (!resolve)
        {
            foreach (var (_, elf) in mine)
                closure.NoteGlibc(elf);
            return closure;
        }
        foreach (var (path, elf) in mine)
            closure._queue.Enqueue(new Item(path, elf, "/" + ParentOf(path), InImage: true, Loader: null));
        foreach (var include in includes)
            closure.Include(include);
        closure.Drain();
        return closure;
    }

    private void Include(IncludedLibrary include)
    {
        if (include.NameOrPath.Contains('/'))
        {
            if (!File.Exists(include.NameOrPath))
            {
                _missing.Add(new MissingLibrary(include.Reason, include.NameOrPath, include.Required));
                return;
            }
            var elf = ElfObject.Read(include.NameOrPath);
            if (!_search.Matches(elf))
                throw new ElfFormatException(include.NameOrPath, $"is {elf.MachineName} ({(elf.Is64 ? 64 : 32)}-bit), not {ElfObject.NameOf(_search.Machine)} ({(_search.Is64 ? 64 : 32)}-bit) like the image");
            Bundle(elf.Soname ?? Path.GetFileName(include.NameOrPath), include.NameOrPath, elf, include.Reason);
            return;
        }
        if (IsPartOfGlibc(include.NameOrPath) || _bundled.ContainsKey(include.NameOrPath) || _links.ContainsKey(include.NameOrPath))
            return;
        if (_imageSonames.TryGetValue(include.NameOrPath, out string? inImage))
        {
            LinkUnlessReachable(include.NameOrPath, inImage);
            return;
        }
        if (_search.FindIn(_search.SystemDirectories, include.NameOrPath) is { } found)
            Bundle(include.NameOrPath, found.Path, found.Elf, include.Reason);
        else
            _missing.Add(new MissingLibrary(include.Reason, include.NameOrPath, include.Required));
    }

    private void Drain()
    {
        while (_queue.TryDequeue(out var item))
        {
            NoteGlibc(item.Elf);
            foreach (string name in item.Elf.Needed)
                Resolve(item, name);
        }
    }

    private void Resolve(Item item, string name)
    {
        if (name.Contains('/') || IsPartOfGlibc(name) || _bundled.ContainsKey(name) || _links.ContainsKey(name))
            return;
        // ld.so's order: DT_RPATH of the object and its loaders (only when the object has no
        // DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH of the object, then the system's directories.
        var searched = new List<(Item Owner, string? Path)>();
        if (item.Elf.Runpath is null)
        {
            for (Item? loader = item; loader is not null; loader = loader.Loader)
                searched.Add((loader, loader.Elf.Rpath));
        }
        searched.Add((item, item.Elf.Runpath));
        var directories = searched.SelectMany(s => _search.Expand(s.Path, s.Owner.Origin).Select(d => (s.Owner.InImage && d.FromOrigin, d.Directory))).ToList();

        // The image first, so that what it carries is what runs: a directory of it that an
        // $ORIGIN path reaches (auditwheel's .libs), where the loader finds the file at run time;
        // else a file of it with that soname, linked from LD_LIBRARY_PATH's image directory.
        foreach (var (inImage, directory) in directories)
        {
            if (inImage && Normalize(directory) is { } imageDirectory && _imagePaths.Contains(imageDirectory.Length == 0 ? name : imageDirectory + "/" + name))
                return;
        }
        if (_imageSonames.TryGetValue(name, out string? imagePath))
        {
            LinkUnlessReachable(name, imagePath);
            return;
        }
        var host = directories.Where(d => !d.Item1).Select(d => d.Directory).Concat(_search.SystemDirectories);
        if (_search.FindIn(host, name) is { } found)
            Bundle(name, found.Path, found.Elf, item.Shown, item);
        else
            _missing.Add(new MissingLibrary(item.Shown, name, Required: true));
    }

    private void LinkUnlessReachable(string name, string imagePath)
    {
        if (imagePath != ImageDirectory + "/" + name)
            _links[name] = imagePath;
    }

    private void Bundle(string name, string path, ElfObject elf, string neededBy, Item? loader = null)
    {
        if (_bundled.ContainsKey(name))
            return;
        _bundled[name] = new BundledLibrary(name, Path.GetFullPath(ResolveLinks(path)), elf, neededBy);
        // ld.so's $ORIGIN of a library is the directory it was found in, symlinks not resolved.
        _queue.Enqueue(new Item(path, elf, Path.GetDirectoryName(path)!, InImage: false, loader));
    }

    private void NoteGlibc(ElfObject elf)
    {
        foreach (var (_, versions) in elf.VersionsNeeded)
        {
            foreach (string version in versions)
            {
                if (GlibcVersion.OfSymbolVersion(version) is { } glibc && (_glibc is null || GlibcVersion.Parse(glibc) > GlibcVersion.Parse(_glibc)))
                    _glibc = glibc;
            }
        }
    }

    private static string ResolveLinks(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? path : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
    }

    private static string ParentOf(string imagePath)
    {
        int slash = imagePath.LastIndexOf('/');
        return slash < 0 ? "" : imagePath[..slash];
    }

    /// <summary>"/lib/python/numpy/../numpy.libs" → "lib/python/numpy.libs"; null when it leaves the image.</summary>
    private static string? Normalize(string absoluteInImage)
    {
        var parts = new List<string>();
        foreach (string part in absoluteInImage.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (parts.Count == 0) return null;
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return string.Join('/', parts);
    }

    /// <summary>An object whose needs are resolved: in the image (Shown is its image path) or on the host.</summary>
    private sealed record Item(string Shown, ElfObject Elf, string Origin, bool InImage, Item? Loader);
}
