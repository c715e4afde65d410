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

    /// <summary>
    /// Below the break-even point (about 0.75 MiB) of hashing managed (about 5.5 ms per MiB) and
    /// loading OpenSSL (about 3.5 ms, then 0.8 ms per MiB). Measured in the Native AOT launcher,
    /// docs/launcher.md §5.
    /// </summary>
    public const long ManagedSha256Limit = 512 << 10;

    /// <summary>
    /// Lowercase hex SHA-256 of <paramref name="length"/> bytes at <paramref name="offset"/>.
    /// .NET hashes through OpenSSL, and loading and initialising libcrypto costs the launcher
    /// about 3.5 ms — more than the rest of a cold start of a small archive — so regions up to
    /// <see cref="ManagedSha256Limit"/> are hashed by <see cref="ManagedSha256"/> instead.
    /// </summary>
    /// <exception cref="XarFormatException">The file ends inside the region.</exception>
    public static string Sha256(SafeFileHandle handle, long offset, long length, string filePath, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, 1 << 20));
        try
        {
            if (length <= ManagedSha256Limit)
            {
                // Checked before the IncrementalHash below exists: creating it loads OpenSSL.
                Span<byte> whole = buffer.AsSpan(0, (int)length);
                int read = ReadFull(handle, whole, offset);
                if (read < whole.Length)
                    throw new XarFormatException(filePath, $"the file ended {read} bytes into the {length}-byte image at offset {offset}");
                return Convert.ToHexStringLower(ManagedSha256.Hash(whole));
            }
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
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
