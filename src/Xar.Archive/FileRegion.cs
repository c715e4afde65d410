using System.Buffers;
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

    /// <summary>
    /// Up to this size <see cref="ManagedSha256"/> hashes the image even when libcrypto is there:
    /// loading libcrypto costs about 1.3 ms, what hashing about 300 KiB managed costs, and the
    /// managed code is far behind only on larger images (docs/launcher.md §5).
    /// </summary>
    public const long ManagedSha256Limit = 256 << 10;

    /// <summary>
    /// Lowercase hex SHA-256 of <paramref name="length"/> bytes at <paramref name="offset"/>, by
    /// <see cref="LibCryptoSha256"/> when the region is larger than <see cref="ManagedSha256Limit"/>
    /// and the host has libcrypto, by <see cref="ManagedSha256"/> otherwise. Never through .NET's
    /// hashing: it loads libssl, and the launcher must run on hosts without OpenSSL.
    /// </summary>
    /// <exception cref="XarFormatException">The file ends inside the region.</exception>
    public static string Sha256(SafeFileHandle handle, long offset, long length, string filePath, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, 1 << 20));
        try
        {
            LibCryptoSha256? native = length > ManagedSha256Limit ? LibCryptoSha256.TryCreate() : null;
            ManagedSha256? managed = native is null ? new ManagedSha256() : null;
            long done = 0;
            while (done < length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int chunk = (int)Math.Min(buffer.Length, length - done);
                int read = RandomAccess.Read(handle, buffer.AsSpan(0, chunk), offset + done);
                if (read == 0)
                    throw new XarFormatException(filePath, $"the file ended {done} bytes into the {length}-byte image at offset {offset}");
                native?.Append(buffer.AsSpan(0, read));
                managed?.Append(buffer.AsSpan(0, read));
                done += read;
            }
            return Convert.ToHexStringLower(native?.Finish() ?? managed!.Finish());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
