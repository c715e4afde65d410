using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>The verified stamp is written like every output: never through a link planted at a guessable name.</summary>
public sealed class VerifiedStampTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void The_stamp_is_not_written_through_a_link_planted_at_the_old_temporary_name()
    {
        string archive = _sandbox.Archive();
        string stamp = Path.Combine(_sandbox.Root, "verified.app");
        string victim = Path.Combine(_sandbox.Root, "victim");
        File.WriteAllText(victim, "precious\n");
        // The name the stamp used to be written under, with File.WriteAllText, which follows links.
        File.CreateSymbolicLink($"{stamp}.{Environment.ProcessId}.tmp", victim);

        string sha256;
        using (var opened = XarArchive.Open(archive))
        {
            sha256 = opened.Header.ImageSha256!;
            ImageHash.VerifyUnlessStamped(opened, stamp);
        }

        File.ReadAllText(victim).Should().Be("precious\n");
        new FileInfo(stamp).LinkTarget.Should().BeNull();
        File.ReadAllText(stamp).Should().EndWith($" {sha256}\n");
    }
}
