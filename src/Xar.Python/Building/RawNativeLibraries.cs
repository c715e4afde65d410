using Xar.Archive;
using Xar.Archive.Elf;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

/// <summary>
/// The native library closure of a raw directory (<c>xar build --raw DIR --bundle-libs</c>,
/// docs/python-apps.md §7): its ELF objects get the libraries they need from the build host,
/// as a Python image's do (<see cref="NativeLibraries"/>), in <see cref="LibraryClosure.ImageDirectory"/>.
/// </summary>
public static class RawNativeLibraries
{
    /// <summary>The entries to add to the image and the header's XAR_LIBRARY_PATH (null: nothing bundled) and XAR_REQUIRES_GLIBC.</summary>
    /// <param name="directory">The raw directory; its symlinks are not followed.</param>
    /// <param name="executable">The target, whose machine the libraries are searched for on this host's machine.</param>
    /// <exception cref="PythonBuildException">A needed library is found nowhere (and not allowed to be missing).</exception>
    /// <exception cref="IOException">An object is for another machine than <paramref name="platform"/>, when it is not this host's.</exception>
    public static (IReadOnlyList<ImageEntry> Entries, string? LibraryPath, string? RequiredGlibc) Collect(string directory, string executable, TargetPlatform platform,
        bool strip, IReadOnlyList<string> includeLibraries, IReadOnlyCollection<string> allowMissing, long time, Action<string>? notice, Action<string>? warning)
    {
        string root = Path.GetFullPath(directory).TrimEnd('/');
        if (Directory.Exists(Path.Combine(root, LibraryClosure.ImageDirectory)))
            throw new ArgumentException($"--raw {directory}: {LibraryClosure.ImageDirectory} is taken; --bundle-libs puts the libraries there");
        var files = new List<ImageEntry>();
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            foreach (var info in new DirectoryInfo(pending.Pop()).EnumerateFileSystemInfos())
            {
                string path = Path.GetRelativePath(root, info.FullName);
                if (info.LinkTarget is { } target)
                    files.Add(ImageEntry.Symlink(path, target, time));
                else if (info is DirectoryInfo)
                    pending.Push(info.FullName);
                else if (info is FileInfo file)
                    files.Add(ImageEntry.File(path, FileContent.FromFile(file.FullName), (int)file.UnixFileMode, time));
            }
        }
        var result = NativeLibraries.Collect(files, Path.Combine(root, executable), bundle: true, strip, includeLibraries, allowMissing, time, notice, warning,
            platform == TargetPlatform.Host ? null : platform);
        var entries = result.Libraries.Select(library => library.Type == ImageEntryType.Symlink
            ? ImageEntry.Symlink(library.Path, library.LinkTarget!, time)
            : ImageEntry.File(library.Path, library.Content!, library.Mode, time)).ToList();
        return (entries, result.LibraryPath, result.RequiredGlibc);
    }
}
