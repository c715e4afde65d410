using System.Security.Cryptography;
using System.Text;
using Xar.Interop;

namespace Xar.Runtime;

/// <summary>
/// The names a mount was asked for that its image does not have, kept by the daemon for the
/// next fresh mount of the image (docs/python-apps.md §5): the bootstrap's read-ahead looks them up
/// before the application does, so that the kernel has cached the misses (negative entries) by
/// then. <c>&lt;private cache of the image&gt;/missing-names</c>, beside the bootstrap's start record:
/// the first line <see cref="Magic"/>, then one path relative to the mount per line, in the order
/// first asked. Written only into the per-image directory the bootstrap made (the user's own,
/// nobody else's to write), under a random name (O_EXCL|O_NOFOLLOW, 0600) then renamed over a
/// regular file or nothing, only when it grows; a record that does not parse is replaced.
/// </summary>
internal static class MissedNameRecord
{
    public const string FileName = "missing-names";

    public const string Magic = "xar missing names 1";

    /// <summary>The bootstrap's per-image directories (xar_bootstrap.py, _private_cache_directory).</summary>
    private const string AppCaches = ".app-caches";

    /// <summary>A record is never read past this size (4,096 names of up to 256 bytes).</summary>
    private const int MaximumBytes = 1 << 20;

    /// <summary>Adds <paramref name="names"/> to the record of the image hashed <paramref name="imageSha256"/>; nothing when the bootstrap made no private directory for it.</summary>
    public static void Add(IReadOnlyList<string> names, string imageSha256, RuntimeSettings settings, string archivePath)
    {
        int directory = OpenPrivateDirectory(imageSha256, settings, archivePath);
        if (directory < 0)
            return;
        try
        {
            List<string> recorded = Read(directory) ?? [];
            int count = recorded.Count;
            var known = new HashSet<string>(recorded, StringComparer.Ordinal);
            foreach (string name in names)
            {
                if (recorded.Count < Fuse.FuseServerOptions.MissedNameLimit && IsFollowed(name) && known.Add(name))
                    recorded.Add(name);
            }
            if (recorded.Count > count)
                Write(directory, recorded);
        }
        finally
        {
            LibC.close(directory);
        }
    }

    /// <summary>
    /// A name the read-ahead may look up: relative, no empty, "." or ".." component, one line
    /// (xar_bootstrap.py's _missed_names checks the same).
    /// </summary>
    internal static bool IsFollowed(string name) =>
        name.Length > 0 && !name.Contains('\n', StringComparison.Ordinal)
        && name.Split('/').All(part => part.Length > 0 && part != "." && part != "..");

    /// <summary>The record's names; null when there is none or it does not parse.</summary>
    internal static List<string>? Read(int directory)
    {
        int fd = LibC.openat(directory, FileName, LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC | LibC.O_NONBLOCK, 0);
        if (fd < 0)
            return null;
        try
        {
            if (LibC.Stat(fd, out StatX stat) != 0 || !stat.IsRegularFile || stat.Size > MaximumBytes)
                return null;
            byte[] bytes = new byte[stat.Size];
            if (LibC.PReadToEnd(fd, bytes) != bytes.Length)
                return null;
            string text;
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                return null;
            }
            string[] lines = text.Split('\n');
            if (lines[0] != Magic || lines[^1].Length != 0 || lines.Length - 2 > Fuse.FuseServerOptions.MissedNameLimit)
                return null;
            List<string> names = [.. lines[1..^1]];
            return names.All(IsFollowed) ? names : null;
        }
        finally
        {
            LibC.close(fd);
        }
    }

    private static void Write(int directory, List<string> names)
    {
        string temporary = "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + ExtractionCache.TemporarySuffix;
        int fd = LibC.openat(directory, temporary, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0x180);
        if (fd < 0)
            return;
        bool written = LibC.WriteAll(fd, Encoding.UTF8.GetBytes(Magic + "\n" + string.Concat(names.Select(name => name + "\n")))) == 0;
        LibC.close(fd);
        // Never renamed over what is not a regular file (a symlink or a directory someone put there).
        bool replaceable = LibC.Stat(directory, FileName, LibC.AT_SYMLINK_NOFOLLOW, out StatX existing) != 0 || existing.IsRegularFile;
        if (!written || !replaceable || LibC.renameat(directory, temporary, directory, FileName) != 0)
            LibC.unlinkat(directory, temporary, 0);
    }

    /// <summary>
    /// The per-image directory the bootstrap uses, opened (O_DIRECTORY|O_NOFOLLOW), or -1: in the
    /// first trusted cache root (<see cref="ExtractionCache.TrustedRoot"/>), <c>.app-caches/&lt;sha256&gt;</c>,
    /// each the user's and not writable by others. Nothing is created: the bootstrap makes it.
    /// </summary>
    private static int OpenPrivateDirectory(string imageSha256, RuntimeSettings settings, string archivePath)
    {
        foreach ((string root, bool shared) in new ExtractionCache(settings, archivePath).Roots())
        {
            if (ExtractionCache.TrustedRoot(root, shared, create: false, out _) is not { } canonical)
                continue;
            int parent = LibC.open(canonical, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
            if (parent < 0)
                return -1;
            int directory = -1;
            foreach (string name in (string[])[AppCaches, imageSha256])
            {
                directory = LibC.openat(parent, name, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
                LibC.close(parent);
                if (directory < 0 || LibC.Stat(directory, out StatX stat) != 0
                    || stat.Uid != UserIdentity.EffectiveUid || (stat.Permissions & ExtractionCache.WritableByOthers) != 0)
                {
                    if (directory >= 0)
                        LibC.close(directory);
                    return -1; // a hint only: no record rather than a search of other roots
                }
                parent = directory;
            }
            return directory;
        }
        return -1;
    }
}
