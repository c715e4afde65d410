using Xar.Archive;
using Xar.SquashFs.Writing;

namespace Xar.Runtime.Tests;

public enum TargetKind
{
    Shell,
    Elf,
}

/// <summary>Archives with the test target (Targets/target.sh or the compiled Targets/target.c) at bin/app.</summary>
public static class TestArchives
{
    public const string TargetPath = "bin/app";

    private static readonly Lazy<byte[]> s_elfTarget = new(CompileElfTarget);

    public static string Build(string directory, TargetKind target, XarLayout layout, string? mountRoot, string? xarexecTarget = TargetPath,
        IReadOnlyDictionary<string, string>? extraFiles = null, IReadOnlyDictionary<string, string>? extraHeader = null,
        IReadOnlyDictionary<string, string>? symlinks = null, IEnumerable<ImageEntry>? extraEntries = null)
    {
        string tree = System.IO.Path.Combine(directory, "tree-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(System.IO.Path.Combine(tree, "bin"));
        string app = System.IO.Path.Combine(tree, TargetPath);
        if (target == TargetKind.Shell)
            File.Copy(System.IO.Path.Combine(AppContext.BaseDirectory, "Targets", "target.sh"), app);
        else
            File.WriteAllBytes(app, s_elfTarget.Value);
        File.SetUnixFileMode(app, (UnixFileMode)0x1ED);
        File.WriteAllText(System.IO.Path.Combine(tree, "data.txt"), "data from the image\n");
        // A nonce: every archive has its own image hash, UUID and so mount and cache entry.
        File.WriteAllText(System.IO.Path.Combine(tree, "nonce"), Guid.NewGuid().ToString());
        foreach (var (path, content) in extraFiles ?? new Dictionary<string, string>())
        {
            string file = System.IO.Path.Combine(tree, path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
            File.WriteAllText(file, content);
        }
        foreach (var (path, linkTarget) in symlinks ?? new Dictionary<string, string>())
        {
            string link = System.IO.Path.Combine(tree, path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, linkTarget);
        }
        var header = new XarHeaderFields { Version = 1, XarexecTarget = xarexecTarget, MountRoot = mountRoot };
        foreach (var (key, value) in extraHeader ?? new Dictionary<string, string>())
            header.Extra[key] = value;

        string archive = System.IO.Path.Combine(directory, $"app-{target}-{layout}-{Guid.NewGuid():N}.xar".ToLowerInvariant());
        var writer = new SquashFsWriter(new SquashFsWriterOptions { FixedTime = 0 });
        writer.AddDirectory(tree);
        foreach (ImageEntry entry in extraEntries ?? [])
            writer.Add(entry);
        using FileStream? launcher = layout == XarLayout.Self ? File.OpenRead(Launcher.Path) : null;
        XarArchiveWriter.Write(archive,
            new XarWriteOptions
            {
                Header = header,
                Layout = layout,
                Launcher = launcher,
            },
            image => writer.WriteTo(image));
        Directory.Delete(tree, recursive: true);
        return archive;
    }

    private static byte[] CompileElfTarget()
    {
        using var directory = new TempDirectory("elf-target");
        string output = directory.Combine("target");
        Run.Checked("cc", ["-O2", "-o", output, System.IO.Path.Combine(AppContext.BaseDirectory, "Targets", "target.c")]);
        return File.ReadAllBytes(output);
    }
}
