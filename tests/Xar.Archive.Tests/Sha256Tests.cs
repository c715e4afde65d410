using System.Security.Cryptography;
using System.Text;

namespace Xar.Archive.Tests;

/// <summary>Both image hashes — managed, and libcrypto's when the host has it — against FIPS 180-4 vectors and .NET's SHA-256.</summary>
public sealed class Sha256Tests
{
    public static TheoryData<string, string> Vectors => new()
    {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { new string('a', 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Both_hashes_give_the_standard_digests(string message, string digest)
    {
        byte[] data = Encoding.ASCII.GetBytes(message);

        Convert.ToHexStringLower(HashByManaged(data, chunk: 4096)).Should().Be(digest);
        Convert.ToHexStringLower(HashByLibCrypto(data, chunk: 4096)).Should().Be(digest);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(119)]
    [InlineData(4096)]
    [InlineData(1_000_003)]
    public void The_managed_SHA_256_agrees_with_the_platform(int length)
    {
        byte[] data = RandomBytes(length);

        HashByManaged(data, chunk: data.Length).Should().Equal(SHA256.HashData(data));
    }

    /// <summary>Chunks that straddle block boundaries exercise the pending partial block.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(65)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    public void Both_hashes_agree_with_the_platform_when_fed_in_chunks(int chunk)
    {
        byte[] data = RandomBytes(3_000_017);
        byte[] expected = SHA256.HashData(data);

        HashByManaged(data, chunk).Should().Equal(expected);
        HashByLibCrypto(data, chunk).Should().Equal(expected);
    }

    private static byte[] HashByManaged(byte[] data, int chunk)
    {
        var hash = new ManagedSha256();
        for (int offset = 0; offset < data.Length; offset += chunk)
            hash.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
        return hash.Finish();
    }

    /// <summary>This machine has libcrypto (.NET's own hashing above needs it), so its path is always tested here.</summary>
    private static byte[] HashByLibCrypto(byte[] data, int chunk)
    {
        LibCryptoSha256 hash = LibCryptoSha256.TryCreate() ?? throw new InvalidOperationException("no libcrypto.so.3 or libcrypto.so.1.1 on this machine");
        for (int offset = 0; offset < data.Length; offset += chunk)
            hash.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
        return hash.Finish();
    }

    private static byte[] RandomBytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }
}
