using System.Globalization;
using Xar.Archive;
using Xar.Interop;
using Xar.SquashFs;
using Xar.SquashFs.Reading;


namespace Xar.Runtime;

/// <summary>
/// Resolves XAREXEC_TARGET inside the image before anything is executed. In a mounted or
/// extracted tree the kernel would follow a symlink such as <c>run -&gt; /bin/sh</c> (or
/// <c>../../bin/sh</c>) to the host: the launcher would then run a program that is not in the
/// archive, as root as often as not. Symlinks are therefore interpreted relative to the image's
/// root, one that leaves it is refused, and the launcher executes the resolved path, which
/// contains no symlink — the same for mounts and extractions, and for both layouts.
/// </summary>
/// <remarks>
/// A launch first asks the kernel: openat2 with RESOLVE_BENEATH from the tree's root succeeds
/// only for a path that never leaves it, and the descriptor names the resolved file. That costs
/// a few system calls; opening the image with the SquashFS reader (zlib, tables, metadata
/// blocks) costs about 0.3 ms, a tenth of a warm launch. Whenever the kernel does not answer
/// yes — a refused path, or a kernel without openat2 (before 5.6, or a seccomp filter) — the
/// image's own reader decides, and explains a refusal.
/// </remarks>
internal static unsafe class ImageTarget
{
    /// <summary>Symlinks followed before a chain counts as a loop (Linux's MAXSYMLINKS).</summary>
    private const int MaxSymlinks = 40;

    /// <summary>
    /// The absolute, symlink-free path of the regular file in <paramref name="tree"/> that
    /// <paramref name="target"/> (relative, without '..', see TargetExecutor) names.
    /// </summary>
    /// <param name="key">The header key that names the target, for messages.</param>
    /// <exception cref="XarRuntimeException">The target is missing (<see cref="XarExitCode.TargetNotFound"/>), leaves the image, loops or is not a regular file (<see cref="XarExitCode.BadArchive"/>).</exception>
    public static string Resolve(XarArchive archive, PreparedTree tree, string target, string key = XarHeaderKeys.XarexecTarget) =>
        ResolveInTree(tree, target) ?? tree.Directory + "/" + ResolveInImage(archive, target, key);

    /// <summary>The kernel's answer: the resolved path, or null when it cannot vouch for one.</summary>
    private static string? ResolveInTree(PreparedTree tree, string target)
    {
        int root = tree.PinDescriptor >= 0 ? tree.PinDescriptor : LibC.Open(tree.Directory, LibC.O_PATH | LibC.O_DIRECTORY, 0, out _);
        if (root < 0)
            return null;
        try
        {
            var how = new OpenHow
            {
                Flags = (ulong)(LibC.O_PATH | LibC.O_CLOEXEC),
                Resolve = LibC.RESOLVE_BENEATH | LibC.RESOLVE_NO_MAGICLINKS,
            };
            int fd;
            fixed (byte* path = LibC.Utf8Z(target))
                fd = (int)LibC.syscall(LibC.SYS_openat2, root, path, &how, (nuint)sizeof(OpenHow));
            if (fd < 0)
                return null;
            try
            {
                return LibC.Stat(fd, out StatX stat) == 0 && stat.IsRegularFile
                    ? LibC.ReadLink("/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture))
                    : null;
            }
            finally
            {
                LibC.close(fd);
            }
        }
        finally
        {
            if (root != tree.PinDescriptor)
                LibC.close(root);
        }
    }

    /// <summary>
    /// The image's answer: the path, relative to the image's root and free of symlinks, of the
    /// regular file that <paramref name="target"/> names. Symlinks, in any component, are
    /// interpreted relative to the image's root: one that is absolute or climbs above the root
    /// leaves the image and is refused.
    /// </summary>
    /// <exception cref="XarRuntimeException">As <see cref="Resolve(XarArchive, PreparedTree, string)"/>.</exception>
    internal static string ResolveInImage(XarArchive archive, string target, string key = XarHeaderKeys.XarexecTarget)
    {
        string archivePath = archive.Path;
        XarImageRegion region = archive.Image;
        try
        {
            using SquashFsImage image = SquashFsImage.Open(region.Handle, region.Offset, ownsHandle: false);
            return Resolve(image, target, key, archivePath);
        }
        catch (SquashFsException e)
        {
            throw new XarRuntimeException(XarExitCode.BadArchive, archivePath, $"SquashFS image at OFFSET {region.Offset}: {e.Message}");
        }
    }

    /// <summary>The symlink-free image path of the regular file <paramref name="target"/> names, resolved in <paramref name="image"/>.</summary>
    internal static string Resolve(SquashFsImage image, string target, string key, string archivePath)
    {
        // The directories from the root down to where the walk is; names[i] leads to chain[i + 1].
        var chain = new List<SquashFsEntry> { image.Root };
        var names = new List<string>();
        // Components still to walk, the next on top.
        var pending = new Stack<string>();
        Push(pending, target);
        int symlinks = 0;
        while (pending.Count > 0)
        {
            string component = pending.Pop();
            if (!chain[^1].IsDirectory)
                throw Refused(key, target, archivePath, $"/{string.Join('/', names)} is not a directory");
            if (component == ".")
                continue;
            if (component == "..")
            {
                if (chain.Count == 1)
                    throw Refused(key, target, archivePath, "a symlink on its way climbs above the image's root");
                chain.RemoveAt(chain.Count - 1);
                names.RemoveAt(names.Count - 1);
                continue;
            }
            SquashFsEntry entry = image.Lookup(chain[^1], component)
                ?? throw new XarRuntimeException(XarExitCode.TargetNotFound, archivePath,
                    $"{key} \"{target}\" is not in the image (no /{string.Join('/', names.Append(component))})");
            if (entry.IsSymlink)
            {
                if (++symlinks > MaxSymlinks)
                    throw Refused(key, target, archivePath, $"more than {MaxSymlinks} symlinks on its way (a loop)");
                string link = image.ReadLink(entry);
                if (link.StartsWith('/'))
                    throw Refused(key, target, archivePath, $"/{string.Join('/', names.Append(component))} is a symlink to {link}, outside the image");
                Push(pending, link);
                continue;
            }
            chain.Add(entry);
            names.Add(component);
        }
        if (!chain[^1].IsRegularFile)
            throw Refused(key, target, archivePath, names.Count == 0 ? "it names the image's root" : $"/{string.Join('/', names)} is not a regular file");
        return string.Join('/', names);
    }

    private static void Push(Stack<string> pending, string path)
    {
        string[] components = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = components.Length - 1; i >= 0; i--)
            pending.Push(components[i]);
    }

    private static XarRuntimeException Refused(string key, string target, string archivePath, string why) =>
        new(XarExitCode.BadArchive, archivePath, $"{key} \"{target}\" does not resolve to a file in the image: {why}");
}
