using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Globalization;
using Xar.Archive;
using Xar.Runtime.Native;

using StatX = Xar.SquashFs.Native.StatX;

namespace Xar.Runtime;

/// <summary>
/// SHA-256 of an archive's image. .NET hashes through OpenSSL, and loading and initialising
/// libcrypto costs a launch about 3.5 ms — more than the rest of a cold start of a small
/// archive. Images up to <see cref="ManagedLimit"/> are therefore hashed by the managed
/// implementation below (about 5.5 ms per MiB here), larger ones by OpenSSL (about 0.8 ms per
/// MiB once loaded). Measured in the Native AOT launcher, docs/launcher.md §5.
/// </summary>
internal static class ImageHash
{
    /// <summary>Below the break-even point of those two costs (about 0.75 MiB).</summary>
    public const long ManagedLimit = 512 << 10;

    public static string Compute(XarArchive archive)
    {
        XarImageRegion image = archive.Image;
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(image.Length, 1 << 20));
        try
        {
            if (image.Length <= ManagedLimit)
            {
                ReadExactly(archive, buffer.AsSpan(0, (int)image.Length), image.Offset);
                return Convert.ToHexStringLower(Sha256.Hash(buffer.AsSpan(0, (int)image.Length)));
            }
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (long done = 0; done < image.Length;)
            {
                int chunk = (int)Math.Min(buffer.Length, image.Length - done);
                ReadExactly(archive, buffer.AsSpan(0, chunk), image.Offset + done);
                hash.AppendData(buffer, 0, chunk);
                done += chunk;
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Compares the image with XAR_IMAGE_SHA256, if the header records one (the original checked nothing, xar-format.md R12).</summary>
    /// <exception cref="XarRuntimeException">The hashes differ (<see cref="XarExitCode.BadArchive"/>).</exception>
    public static void Verify(XarArchive archive)
    {
        string? expected = archive.Header.ImageSha256;
        if (expected is null)
            return;
        string actual = Compute(archive);
        if (actual != expected)
            throw new XarRuntimeException(XarExitCode.BadArchive, archive.Path,
                $"image SHA-256 mismatch: the header records {expected}, the {archive.ImageLength} bytes at OFFSET {archive.ImageOffset} hash to {actual}");
    }

    /// <summary>
    /// <see cref="Verify"/>, skipped when this very file was verified before. Mounting again after
    /// an idle unmount is the common cold start, and hashing is most of the launcher's share of
    /// it. <paramref name="stampPath"/> (in the caller's own mount directory) records the file's
    /// identity — device, inode, size, modification and change times — with the hash it matched;
    /// any write to the file changes its change time, a copy or download is another inode, so a
    /// stamp that still matches means the same bytes as when they were hashed.
    /// </summary>
    public static void VerifyUnlessStamped(XarArchive archive, string stampPath)
    {
        if (archive.Header.ImageSha256 is null)
            return;
        string? identity = Identity(archive);
        if (identity is not null && ReadStamp(stampPath) == identity)
            return;
        Verify(archive);
        if (identity is not null)
            WriteStamp(stampPath, identity);
    }

    private static string? Identity(XarArchive archive)
    {
        if (LibC.Stat((int)archive.Image.Handle.DangerousGetHandle(), out StatX stat) != 0)
            return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"{stat.DevMajor}:{stat.DevMinor} {stat.Ino} {stat.Size} {stat.Mtime.Seconds}.{stat.Mtime.Nanoseconds:D9} {stat.Ctime.Seconds}.{stat.Ctime.Nanoseconds:D9} {archive.ImageOffset} {archive.Header.ImageSha256}\n");
    }

    private static string? ReadStamp(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Best effort: without a stamp the next cold start hashes again.</summary>
    private static void WriteStamp(string path, string identity)
    {
        string temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllText(temporary, identity);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LibC.unlink(temporary);
        }
    }

    private static void ReadExactly(XarArchive archive, Span<byte> destination, long offset)
    {
        XarImageRegion image = archive.Image;
        int done = 0;
        while (done < destination.Length)
        {
            int read = RandomAccess.Read(image.Handle, destination[done..], offset + done);
            if (read == 0)
                throw new XarRuntimeException(XarExitCode.BadArchive, archive.Path, $"the file ended {offset + done - image.Offset} bytes into the {image.Length}-byte image");
            done += read;
        }
    }
}

/// <summary>SHA-256 (FIPS 180-4) of a buffer, for small images.</summary>
internal static class Sha256
{
    private static readonly uint[] RoundConstants =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        Span<uint> state = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        Span<uint> schedule = stackalloc uint[64];
        int whole = data.Length / 64 * 64;
        for (int block = 0; block < whole; block += 64)
            Compress(state, schedule, data.Slice(block, 64));

        // The tail, the 0x80 marker, zeros and the bit length fill one or two final blocks.
        Span<byte> tail = stackalloc byte[128];
        tail.Clear();
        int rest = data.Length - whole;
        data[whole..].CopyTo(tail);
        tail[rest] = 0x80;
        int tailLength = rest < 56 ? 64 : 128;
        BinaryPrimitives.WriteUInt64BigEndian(tail[(tailLength - 8)..], (ulong)data.Length * 8);
        for (int block = 0; block < tailLength; block += 64)
            Compress(state, schedule, tail.Slice(block, 64));

        byte[] digest = new byte[32];
        for (int i = 0; i < 8; i++)
            BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(i * 4), state[i]);
        return digest;
    }

    private static void Compress(Span<uint> state, Span<uint> w, ReadOnlySpan<byte> block)
    {
        for (int i = 0; i < 16; i++)
            w[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(i * 4)..]);
        for (int i = 16; i < 64; i++)
        {
            uint s0 = BitOperations.RotateRight(w[i - 15], 7) ^ BitOperations.RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint s1 = BitOperations.RotateRight(w[i - 2], 17) ^ BitOperations.RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++)
        {
            uint t1 = h + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25))
                + ((e & f) ^ (~e & g)) + RoundConstants[i] + w[i];
            uint t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22))
                + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}
