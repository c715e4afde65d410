namespace Xar.Testing;

/// <summary>The published xarexec, (re)built through scripts/publish-launcher when missing or older than its sources.</summary>
public static class Launcher
{
    private static readonly Lazy<string> s_path = new(Publish, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Path => s_path.Value;

    private static string Publish()
    {
        string binary = System.IO.Path.Combine(Repository.Root, ".artifacts/launcher/linux-x64/xarexec");
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= NewestSource())
            return binary;
        return Run.Checked(System.IO.Path.Combine(Repository.Root, "scripts/publish-launcher"), [], timeout: TimeSpan.FromMinutes(10)).Trim();
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
