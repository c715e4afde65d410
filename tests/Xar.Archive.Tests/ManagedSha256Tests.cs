namespace Xar.Archive.Tests;

public sealed class ManagedSha256Tests
{
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
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);

        ManagedSha256.Hash(data).Should().Equal(System.Security.Cryptography.SHA256.HashData(data));
    }
}
