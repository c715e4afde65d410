namespace Xar.Runtime.Tests;

public sealed class PublishedLauncherTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("xar-launcher-locate-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Touch(string relative)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        return path;
    }

    [Fact]
    public void XAR_LAUNCHER_wins_then_a_launcher_beside_the_program_then_the_checkout_artifact()
    {
        string program = Path.Combine(_root, "src/Xar.Cli/bin/Release/net10.0");
        Directory.CreateDirectory(program);
        string artifact = Touch(".artifacts/launcher/linux-x64/xarexec");
        PublishedLauncher.Locate(null, program, "linux-x64").Should().Be(artifact);

        string beside = Touch("src/Xar.Cli/bin/Release/net10.0/xarexec");
        PublishedLauncher.Locate(null, program, "linux-x64").Should().Be(beside);

        string configured = Touch("elsewhere/xarexec");
        PublishedLauncher.Locate(configured, program, "linux-x64").Should().Be(configured);
        PublishedLauncher.Locate(Path.Combine(_root, "missing"), program, "linux-x64").Should().BeNull("an explicit choice is not second-guessed");
    }

    [Fact]
    public void Nothing_found_is_null()
    {
        PublishedLauncher.Locate(null, _root, "linux-x64").Should().BeNull();
    }
}
