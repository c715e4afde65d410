using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Xar.Archive;

/// <summary>Positional reads of a file region, shared by the reader and the writer.</summary>
internal static class FileRegion
{
    /// <summary>Rounds up to the next multiple of 4096, the alignment of headers and images.</summary>
    public static long AlignUp(long value) => (value + XarHeader.MinimumSize - 1) & ~(long)(XarHeader.MinimumSize - 1);

    /// <summary>Reads until <paramref name="buffer"/> is full or the file ends; returns the bytes read.</summary>
    public static int ReadFull(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = RandomAccess.Read(handle, buffer[total..], offset + total);
            if (read == 0)
                break;
            total += read;
        }
        return total;
    }

    /// <summary>Lowercase hex SHA-256 of <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public static string Sha256(SafeFileHandle handle, long offset, long length, string filePath, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long done = 0;
            while (done < length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int chunk = (int)Math.Min(buffer.Length, length - done);
                int read = RandomAccess.Read(handle, buffer.AsSpan(0, chunk), offset + done);
                if (read == 0)
                    throw new XarFormatException(filePath, $"the file ended {done} bytes into the {length}-byte image at offset {offset}");
                hash.AppendData(buffer, 0, read);
                done += read;
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
