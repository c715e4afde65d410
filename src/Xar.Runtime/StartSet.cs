using Microsoft.Win32.SafeHandles;
using Xar.Archive;
using Xar.Archive.Elf;
using Xar.Fuse;
using Xar.Interop;
using Xar.SquashFs.Reading;

namespace Xar.Runtime;

/// <summary>
/// What every start of an archive reads first from its mount, for the FUSE daemon to decompress
/// before the target asks (docs/fuse-server.md, "Prefetch"): the start program of the image
/// (XAR_START_PROGRAM's first candidate inside the image, a standalone Python's interpreter) when
/// it is an ELF executable, and the libraries it needs (DT_NEEDED) that the image holds in
/// XAR_LIBRARY_PATH's directories — libpython, the dynamic loader's first page faults; then the
/// files (or their first bytes) the header names as read by every start (XAR_START_READS: a Python
/// archive's start-up pycs and the head of its bytecode bundle). The daemon resolves it from the
/// header and the image itself, so the launcher hands nothing over: both read through the
/// descriptor the daemon serves from, never the path again (a file renamed over it since would give
/// another header). Symlinks are resolved inside the image, as for the start itself.
/// </summary>
internal static class StartSet
{
    /// <summary>The files, program first, in the order a start reads them; a read that is not a file of the image is left out.</summary>
    /// <param name="archivePath">The archive's path, for messages only.</param>
    /// <param name="archiveFile">The archive <paramref name="image"/> is read from.</param>
    /// <exception cref="IOException">The archive, its image or an ELF object is malformed.</exception>
    /// <exception cref="XarFormatException">XAR_START_READS or XAR_LIBRARY_PATH is malformed.</exception>
    /// <exception cref="XarRuntimeException">The start program's path or a library's leaves the image or loops.</exception>
    public static List<StartFile> Resolve(string archivePath, SafeFileHandle archiveFile, SquashFsImage image)
    {
        XarHeader header = XarArchive.ReadHeader(archiveFile, archivePath);
        var files = new List<StartFile>();
        if (StartCommand.FromHeader(header, archivePath)?.Programs.Select(StartCommand.ImagePath).FirstOrDefault() is { } program
            && Find(image, program, archivePath) is { } executable
            && IsElf(image, executable))
        {
            files.Add(new StartFile(executable, executable.Size));
            IReadOnlyList<string> directories = LibraryRequirements.Directories(header, archivePath);
            using Stream stream = image.OpenRead(executable);
            foreach (string needed in ElfObject.Read(stream, executable.Path).Needed)
            {
                if (directories.Select(directory => Find(image, directory + "/" + needed, archivePath)).FirstOrDefault(found => found is not null) is { } library)
                    files.Add(new StartFile(library, library.Size));
            }
        }
        foreach (StartRead read in StartRead.FromHeader(header, archivePath))
        {
            // A hint: what does not resolve to a file inside the image (missing, a directory, a
            // symlink leaving it or looping) is only not prefetched.
            try
            {
                SquashFsEntry file = image.GetEntry(ImageTarget.Resolve(image, read.Path, XarHeaderKeys.StartReads, archivePath));
                files.Add(new StartFile(file, Math.Min(read.Length, file.Size)));
            }
            catch (XarRuntimeException)
            {
            }
        }
        return files;
    }

    private static SquashFsEntry? Find(SquashFsImage image, string path, string archivePath)
    {
        try
        {
            return image.GetEntry(ImageTarget.Resolve(image, path, XarHeaderKeys.StartProgram, archivePath));
        }
        catch (XarRuntimeException e) when (e.ExitCode == XarExitCode.TargetNotFound)
        {
            return null;
        }
    }

    private static bool IsElf(SquashFsImage image, SquashFsEntry file)
    {
        Span<byte> start = stackalloc byte[4];
        return image.ReadFile(file, 0, start) == start.Length && ElfMagic.Starts(start);
    }
}
