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

    public static OpenedImage Open(string path)
    {
        if (!File.Exists(path))
            throw new IOException($"{path}: no such file");
        if (StartsWithSquashFsMagic(path))
            return new OpenedImage(path, WithPath(path, () => SquashFsImage.Open(path)), null);
        var archive = XarArchive.Open(path);
        try
        {
            var region = archive.Image;
            return new OpenedImage(path, WithPath(path, () => SquashFsImage.Open(region.Handle, region.Offset, ownsHandle: false)), archive);
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

    /// <summary>Reader errors say what is wrong inside the image; the user also needs to know which file.</summary>
    private static SquashFsImage WithPath(string path, Func<SquashFsImage> open)
    {
        try
        {
            return open();
        }
        catch (Xar.SquashFs.SquashFsException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new Xar.SquashFs.SquashFsException($"{path}: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        Image.Dispose();
        Archive?.Dispose();
    }
}
