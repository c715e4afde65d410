namespace Xar.Testing;

/// <summary>The published xarexec, (re)built through scripts/publish-launcher when missing or older than its sources.</summary>
public static class Launcher
{
    private static readonly Lazy<string> s_path = new(() => Publish("linux-x64"), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<string> s_arm64Path = new(() => Publish("linux-arm64"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The linux-x64 launcher, for this host.</summary>
    public static string Path => s_path.Value;

    /// <summary>The linux-arm64 launcher, cross-compiled (runs here under qemu-user: <see cref="Qemu"/>).</summary>
    public static string Arm64Path => s_arm64Path.Value;

    private static string Publish(string runtimeIdentifier)
    {
        string binary = System.IO.Path.Combine(Repository.Root, ".artifacts/launcher", runtimeIdentifier, "xarexec");
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= NewestSource())
            return binary;
        return Run.Checked(System.IO.Path.Combine(Repository.Root, "scripts/publish-launcher"), [runtimeIdentifier], timeout: TimeSpan.FromMinutes(10)).Trim();
    }

    private static DateTime NewestSource()
    {
        var newest = File.GetLastWriteTimeUtc(System.IO.Path.Combine(Repository.Root, "Directory.Build.props"));
        foreach (string project in (string[])["Xar.Exec", "Xar.Runtime", "Xar.Fuse", "Xar.Archive", "Xar.SquashFs"])
        {
            foreach (string file in Directory.EnumerateFiles(System.IO.Path.Combine(Repository.Root, "src", project), "*", SearchOption.AllDirectories))
            {
                if (file.Contains("/bin/") || file.Contains("/obj/") || !(file.EndsWith(".cs") || file.EndsWith(".csproj")))
                    continue;
                DateTime written = File.GetLastWriteTimeUtc(file);
                if (written > newest)
                    newest = written;
            }
        }
        return newest;
    }
}
