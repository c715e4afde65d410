using System.Runtime.InteropServices;

namespace Xar.Archive;

/// <summary>
/// SHA-256 by the host's libcrypto when it has one, loaded by <c>dlopen</c> and never required:
/// with SHA-NI it hashes several times faster than <see cref="ManagedSha256"/>, which large
/// images need, but a minimal system has no OpenSSL (docs/launcher.md §5). The low-level
/// <c>SHA256_Init/Update/Final</c> (in OpenSSL 1.1 and 3) need no provider or configuration
/// file, unlike EVP and unlike .NET's hashing, which loads libssl and aborts the process when it
/// is missing.
/// </summary>
internal sealed unsafe class LibCryptoSha256
{
    /// <summary>Larger than <c>SHA256_CTX</c> (112 bytes on every ABI of OpenSSL 1.1 and 3).</summary>
    private const int ContextSize = 256;

    private static readonly Functions? s_functions = Load();

    private readonly byte[] _context = new byte[ContextSize];

    private LibCryptoSha256()
    {
        fixed (byte* context = _context)
            Check(s_functions!.Init(context), "SHA256_Init");
    }

    /// <summary>A new hash, or null when the host has no usable libcrypto.</summary>
    public static LibCryptoSha256? TryCreate() => s_functions is null ? null : new LibCryptoSha256();

    public void Append(ReadOnlySpan<byte> data)
    {
        fixed (byte* context = _context)
        fixed (byte* bytes = data)
            Check(s_functions!.Update(context, bytes, (nuint)data.Length), "SHA256_Update");
    }

    public byte[] Finish()
    {
        byte[] digest = new byte[32];
        fixed (byte* context = _context)
        fixed (byte* output = digest)
            Check(s_functions!.Final(output, context), "SHA256_Final");
        return digest;
    }

    /// <summary>They cannot fail on a valid context; a failure is a broken libcrypto, not bad input.</summary>
    private static void Check(int result, string function)
    {
        if (result != 1)
            throw new InvalidOperationException($"libcrypto's {function} failed");
    }

    private static Functions? Load()
    {
        // By soname through the dynamic loader's own search, as the system's programs find it.
        foreach (string name in (string[])["libcrypto.so.3", "libcrypto.so.1.1"])
        {
            if (!NativeLibrary.TryLoad(name, out IntPtr library))
                continue;
            if (NativeLibrary.TryGetExport(library, "SHA256_Init", out IntPtr init)
                && NativeLibrary.TryGetExport(library, "SHA256_Update", out IntPtr update)
                && NativeLibrary.TryGetExport(library, "SHA256_Final", out IntPtr final))
            {
                return new Functions(
                    (delegate* unmanaged<byte*, int>)init,
                    (delegate* unmanaged<byte*, byte*, nuint, int>)update,
                    (delegate* unmanaged<byte*, byte*, int>)final);
            }
            NativeLibrary.Free(library); // A build without the deprecated low-level API.
        }
        return null;
    }

    private sealed class Functions(
        delegate* unmanaged<byte*, int> init,
        delegate* unmanaged<byte*, byte*, nuint, int> update,
        delegate* unmanaged<byte*, byte*, int> final)
    {
        public readonly delegate* unmanaged<byte*, int> Init = init;
        public readonly delegate* unmanaged<byte*, byte*, nuint, int> Update = update;
        public readonly delegate* unmanaged<byte*, byte*, int> Final = final;
    }
}
