using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Xar.Python.Distributions;

/// <summary>
/// Checks a file against the hashes a lock file (PEP 751 <c>hashes</c> table) or a requirements
/// file (pip's <c>--hash=ALGORITHM:HEX</c>) gives for it, reading it once. The algorithms are
/// hashlib's names; sha256, sha384 and sha512 are checked, others (which nothing requires) are
/// ignored, but at least one of the three must be there.
/// </summary>
public static class ArtifactHashes
{
    private static readonly Dictionary<string, HashAlgorithmName> Known = new(StringComparer.Ordinal)
    {
        ["sha256"] = HashAlgorithmName.SHA256,
        ["sha384"] = HashAlgorithmName.SHA384,
        ["sha512"] = HashAlgorithmName.SHA512,
    };

    /// <summary>Whether xar can check a hash of this algorithm.</summary>
    public static bool IsKnown(string algorithm) => Known.ContainsKey(algorithm);

    /// <summary>
    /// Throws <see cref="ArtifactHashException"/> ("FILE: sha256 mismatch: expected …, got …")
    /// unless, for every known algorithm in <paramref name="expected"/>, the digest of
    /// <paramref name="file"/> (an open descriptor of <paramref name="path"/>, read from its start) is
    /// one of the values given (pip accepts any of several <c>--hash</c> values of one algorithm).
    /// The descriptor, not the path, is hashed: the caller reads the artifact from that same
    /// descriptor, so a file put in its place after the check is never used.
    /// </summary>
    public static void Verify(string path, SafeFileHandle file, IReadOnlyList<(string Algorithm, string Hex)> expected)
    {
        var algorithms = expected.Select(e => e.Algorithm).Where(IsKnown).Distinct().ToArray();
        if (algorithms.Length == 0)
            throw new ArtifactHashException(path, $"no hash xar can check (sha256, sha384 or sha512) among: {string.Join(", ", expected.Select(e => e.Algorithm).Distinct())}");
        var digests = Compute(file, algorithms);
        foreach (string algorithm in algorithms)
        {
            var allowed = expected.Where(e => e.Algorithm == algorithm).Select(e => e.Hex.ToLowerInvariant()).ToArray();
            if (!allowed.Contains(digests[algorithm]))
                throw new ArtifactHashException(path, $"{algorithm} mismatch: expected {string.Join(" or ", allowed)}, got {digests[algorithm]}");
        }
    }

    private static Dictionary<string, string> Compute(SafeFileHandle file, IReadOnlyList<string> algorithms)
    {
        var hashes = algorithms.ToDictionary(a => a, a => IncrementalHash.CreateHash(Known[a]));
        try
        {
            var buffer = new byte[1 << 16];
            long offset = 0;
            int read;
            while ((read = RandomAccess.Read(file, buffer, offset)) > 0)
            {
                foreach (var hash in hashes.Values) hash.AppendData(buffer, 0, read);
                offset += read;
            }
            return hashes.ToDictionary(h => h.Key, h => Convert.ToHexStringLower(h.Value.GetHashAndReset()));
        }
        finally
        {
            foreach (var hash in hashes.Values) hash.Dispose();
        }
    }
}
