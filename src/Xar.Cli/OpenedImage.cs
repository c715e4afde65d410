using Microsoft.Win32.SafeHandles;
using Xar.Archive;
using Xar.SquashFs.Format;
using Xar.SquashFs.Reading;

namespace Xar.Cli;

/// <summary>
/// A SquashFS image opened from a bare image file or from a XAR archive of either layout, so every
/// inspection command accepts all three.
/// </summary>
internal sealed class OpenedImage : IDisposable
{
    private OpenedImage(string path, SquashFsImage image, XarArchive? archive)
    {
        Path = path;
        Image = image;
        Archive = archive;
    }

    public string Path { get; }
    public SquashFsImage Image { get; }
    public XarArchive? Archive { get; }

    /// <summary>
    /// Opens the image at <paramref name="path"/>, runs <paramref name="inspect"/> on it and closes
    /// it. Reader errors say what is wrong inside the image, at open or on a later read (a corrupt
    /// inode is met only when a command reaches it); the user also needs to know which file.
    /// </summary>
    public static void Inspect(string path, Action<OpenedImage> inspect)
    {
        try
        {
            using var opened = Open(path);
            inspect(opened);
        }
        catch (Xar.SquashFs.SquashFsException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new Xar.SquashFs.SquashFsException($"{path}: {e.Message}", e);
        }
    }

    private static OpenedImage Open(string path)
    {
        if (!File.Exists(path))
            throw new IOException($"{path}: no such file");
        if (StartsWithSquashFsMagic(path))
            return new OpenedImage(path, SquashFsImage.Open(path), null);
        var archive = XarArchive.Open(path);
        try
        {
            var region = archive.Image;
            return new OpenedImage(path, SquashFsImage.Open(region.Handle, region.Offset, ownsHandle: false), archive);
        }
        catch
        {
            archive.Dispose();
            throw;
        }
    }

    private static bool StartsWithSquashFsMagic(string path)
    {
        using SafeFileHandle handle = File.OpenHandle(path);
        Span<byte> magic = stackalloc byte[4];
        return RandomAccess.Read(handle, magic, 0) == 4 && BitConverter.ToUInt32(magic) == SquashFsConstants.Magic;
    }

    public void Dispose()
    {
        Image.Dispose();
        Archive?.Dispose();
    }
}
