using System.Text;

namespace Xar.SquashFs.Tests.Compression;

/// <summary>Deterministic block contents: compressible text-like bytes and incompressible noise.</summary>
internal static class TestData
{
    private static readonly string[] Words =
    [
        "squashfs", "inode", "directory", "fragment", "block", "the", "a", "of", "compressed", "table",
        "superblock", "metadata", "xattr", "export", "id", "file", "symlink", "device", "reference", "offset",
        "and", "is", "to", "in", "with", "size", "start", "count", "kernel", "reader",
    ];

    public static byte[] Text(int length, int seed = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder(length + 16);
        while (text.Length < length)
        {
            text.Append(Words[random.Next(Words.Length)]);
            text.Append(random.Next(12) == 0 ? ".\n" : " ");
            if (random.Next(40) == 0) text.Append(random.Next(100_000)).Append(' ');
        }
        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }

    public static byte[] Noise(int length, int seed = 2)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
