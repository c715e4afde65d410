using System.Collections.Concurrent;
using Xar.Interop;
using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>squashfs-tools, which the reader is checked against, and whether the tests run as root.</summary>
internal static class SquashFsTools
{
    public static readonly bool IsRoot = Environment.UserName == "root" || LibC.geteuid() == 0;

    /// <summary>Builds an image of <paramref name="source"/> with mksquashfs and the given options.</summary>
    public static void Mksquashfs(string source, string image, string options)
    {
        var arguments = new List<string> { source, image, "-noappend", "-quiet", "-no-progress", "-processors", "2" };
        arguments.AddRange(options.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Run.Checked("mksquashfs", arguments);
    }

    /// <summary>unsquashfs -d into a new directory.</summary>
    public static void Unsquashfs(string image, string destination, params string[] paths)
    {
        Run.Checked("unsquashfs", ["-n", "-q", "-d", destination, image, .. paths]);
    }

    /// <summary>unsquashfs -lln (numeric owners) with times in UTC, one line per entry.</summary>
    public static string[] ListNumeric(string image) =>
        Run.Checked("unsquashfs", ["-lln", image], new Dictionary<string, string?> { ["TZ"] = "UTC" })
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// Images built once per (tree, options) for the whole test run, with the unsquashfs extraction of
/// each, since mksquashfs dominates the cost of the tests. They stay until the test host exits,
/// when <see cref="TempDirectory"/> removes what was not disposed.
/// </summary>
internal static class ImageCache
{
    private static readonly TempDirectory Root = new("images");
    private static readonly ConcurrentDictionary<string, Lazy<string>> Trees = new();
    private static readonly ConcurrentDictionary<string, Lazy<string>> Images = new();
    private static readonly ConcurrentDictionary<string, Lazy<string>> Extractions = new();

    /// <summary>A path in the directory the trees and images are kept in.</summary>
    public static string Combine(string name) => Root.Combine(name);

    public static string Tree(string name, Action<string> build) =>
        Trees.GetOrAdd(name, _ => new Lazy<string>(() =>
        {
            string path = Root.Combine("tree-" + name);
            Directory.CreateDirectory(path);
            build(path);
            return path;
        })).Value;

    public static string Image(string treeName, Action<string> buildTree, string options)
    {
        string tree = Tree(treeName, buildTree);
        return Images.GetOrAdd(treeName + "|" + options, key => new Lazy<string>(() =>
        {
            string image = Root.Combine($"img-{Images.Count}-{Guid.NewGuid():N}.sqfs");
            SquashFsTools.Mksquashfs(tree, image, options);
            return image;
        })).Value;
    }

    /// <summary>unsquashfs' extraction of <paramref name="image"/> (shared; do not modify).</summary>
    public static string Unsquashed(string image) =>
        Extractions.GetOrAdd(image, _ => new Lazy<string>(() =>
        {
            string destination = Root.Combine($"unsquashed-{Guid.NewGuid():N}");
            SquashFsTools.Unsquashfs(image, destination);
            return destination;
        })).Value;
}
