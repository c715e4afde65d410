using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// Two builds of the same Python input are byte-identical, whatever the build cache holds
/// (docs/python-apps.md §5, "Build cache" and "Compressed blocks"): cold, warm, and with the cache off.
/// </summary>
public sealed class ReproducibleBuildTests : IDisposable
{
    private readonly Workspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    private string Build(string name, string cache)
    {
        string? saved = Environment.GetEnvironmentVariable("XAR_BUILD_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("XAR_BUILD_CACHE", cache);
            return XarTool.Build(_workspace.Combine(name), "--from-env", Interpreters.Pyenv311, "flask", "--layout", "xarexec");
        }
        finally
        {
            Environment.SetEnvironmentVariable("XAR_BUILD_CACHE", saved);
        }
    }

    [Fact]
    public void A_Python_build_is_byte_identical_with_a_cold_a_warm_and_no_build_cache_and_a_warm_one_asks_the_servers_and_the_codec_nothing()
    {
        string cache = _workspace.Combine("answers");

        byte[] cold = File.ReadAllBytes(Build("cold.xar", cache));
        var stores = Directory.GetFiles(cache).ToDictionary(path => path, path => new FileInfo(path).LastWriteTimeUtc);
        byte[] warm = File.ReadAllBytes(Build("warm.xar", cache));
        byte[] off = File.ReadAllBytes(Build("off.xar", "off"));

        stores.Should().HaveCount(3, "one store for the import scan, one for the compiler, one for the image writer's compressed blocks");
        foreach (var (path, written) in stores)
            new FileInfo(path).LastWriteTimeUtc.Should().Be(written, "a store is rewritten only when a build added answers to it");
        warm.SequenceEqual(cold).Should().BeTrue("the warm build takes the answers the servers gave the cold one, and the blocks it compressed");
        off.SequenceEqual(cold).Should().BeTrue("the cache changes no byte");
    }
}
