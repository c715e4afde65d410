using System.CommandLine;
using System.Diagnostics;
using Xar.Python.Standards;
using Xar.SquashFs;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;
using Xar.SquashFs.Writing;

namespace Xar.Cli;

/// <summary>`xar squashfs create|ls|extract|info`.</summary>
internal static class SquashFsCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var squashfs = new Command("squashfs", "Create and inspect SquashFS 4.0 images.");
        squashfs.Subcommands.Add(CreateCommand(stdout, stderr));
        foreach (var command in InspectionCommands.All(stdout, stderr, "IMAGE", "SquashFS image (or XAR archive)"))
            if (command.Name is "ls" or "extract" or "info") squashfs.Subcommands.Add(command);
        return squashfs;
    }

    private static Command CreateCommand(TextWriter stdout, TextWriter stderr)
    {
        var source = new Argument<string>("SRC") { Description = "Directory to pack." };
        var image = new Argument<string>("IMAGE") { Description = "Image file to write." };
        var codec = new CodecOptions();
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing on success." };
        var command = new Command("create", "Build a SquashFS image from a directory.") { source, image, quiet };
        codec.AddTo(command);
        command.SetAction(parse =>
        {
            string src = parse.GetValue(source)!;
            if (!Directory.Exists(src))
                throw new IOException($"{src}: no such directory");
            var progress = new OperationProgress();
            var options = codec.Read(parse) with { Progress = progress };
            var clock = Stopwatch.StartNew();
            var result = ProgressDisplay.For(stderr, parse.GetValue(quiet)).Run(progress, stderr, warnings =>
            {
                progress.Begin("reading the directory");
                return SquashFsWriter.CreateImage(src, parse.GetValue(image)!, options with { Warning = message => warnings.WriteLine($"xar: warning: {message}") });
            });
            if (!parse.GetValue(quiet))
                (OutputFile.IsStandardOutput(parse.GetValue(image)!) ? stderr : stdout).WriteLine($"{parse.GetValue(image)}: {result.ImageLength:N0} bytes, {result.InodeCount:N0} inodes, " +
                                 $"{result.FragmentCount:N0} fragments, {CompressionSettings.Name(options.Compression.Algorithm)}, {clock.Elapsed.TotalSeconds:F2} s");
            return 0;
        });
        return command;
    }
}

/// <summary>The codec and layout options shared by `squashfs create` and `xar build`.</summary>
internal sealed class CodecOptions
{
    private readonly Option<string> _compression = new("--compression")
    {
        Description = "Codec: gzip, zstd, xz, lz4 or none.",
        DefaultValueFactory = _ => "zstd",
    };
    private readonly Option<int?> _level = new("--level") { Description = "Codec level (gzip 1-9, zstd 1-22, xz 0-9, lz4 0 fast or 1-12 HC)." };
    private readonly Option<string?> _blockSize = new("--block-size", "-b") { Description = "Block size, 4K to 1M (default 128K; 1M for Python builds)." };
    private readonly Option<int> _threads = new("--threads", "-j") { Description = "Compression threads (default: one per core)." };
    private readonly Option<bool> _noFragments = new("--no-fragments") { Description = "Do not pack small files and tails into fragment blocks." };
    private readonly Option<bool> _noDedup = new("--no-dedup") { Description = "Store duplicate files as often as they occur." };
    private readonly Option<bool> _keepOwners = new("--keep-owners") { Description = "Keep the source's uid/gid (default: everything owned by 0:0)." };
    private readonly Option<bool> _xattrs = new("--xattrs") { Description = "Store extended attributes (user., trusted., security.)." };
    private readonly Option<long?> _mtime = new("--mtime") { Description = "Give every inode and the image this time (seconds since the epoch)." };

    public CodecOptions()
    {
        _compression.AcceptOnlyFromAmong("gzip", "zstd", "xz", "lz4", "none");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _compression, _level, _blockSize, _threads, _noFragments, _noDedup, _keepOwners, _xattrs, _mtime })
            command.Options.Add(option);
    }

    public SquashFsWriterOptions Read(ParseResult parse) => Read(parse, null, SquashFsConstants.DefaultBlockSize);

    /// <summary>
    /// Options from the command line; those not given come from <paramref name="defaults"/> (a
    /// project's [tool.xar]), else the built-in defaults, with <paramref name="defaultBlockSize"/>
    /// and, for zstd, <paramref name="defaultZstdLevel"/> (null: the codec's).
    /// </summary>
    public SquashFsWriterOptions Read(ParseResult parse, TomlFields? defaults, int defaultBlockSize, int? defaultZstdLevel = null)
    {
        T Get<T>(Option<T> option, string key, Func<TomlFields, T> convert) =>
            parse.GetResult(option) is null && defaults is not null && defaults.Contains(key) ? convert(defaults) : parse.GetValue(option)!;
        string codecName = Get(_compression, "compression", d => d.String("compression")!);
        if (!Enum.TryParse<CompressionAlgorithm>(codecName, ignoreCase: true, out var algorithm) || algorithm is CompressionAlgorithm.Lzma or CompressionAlgorithm.Lzo)
            throw new ArgumentException($"compression {codecName}: use gzip, zstd, xz, lz4 or none");
        int? level = Get(_level, "level", d => checked((int?)d.Integer("level"))) ?? (algorithm == CompressionAlgorithm.Zstd ? defaultZstdLevel : null);
        CompressionSettings settings;
        try
        {
            settings = CompressionSettings.For(algorithm, level);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"--level {level}: {e.Message.Split(" (Parameter")[0]}");
        }
        return new SquashFsWriterOptions
        {
            Compression = settings,
            BlockSize = Get(_blockSize, "block-size", d => d.Value("block-size") is long bytes ? bytes.ToString() : d.String("block-size")) is { } size
                ? ParseSize(size)
                : defaultBlockSize,
            Threads = parse.GetValue(_threads),
            UseFragments = !Get(_noFragments, "no-fragments", d => d.Boolean("no-fragments")!.Value),
            Deduplicate = !Get(_noDedup, "no-dedup", d => d.Boolean("no-dedup")!.Value),
            KeepOwners = Get(_keepOwners, "keep-owners", d => d.Boolean("keep-owners")!.Value),
            Xattrs = Get(_xattrs, "xattrs", d => d.Boolean("xattrs")!.Value),
            FixedTime = Get(_mtime, "mtime", d => d.Integer("mtime")),
            Warning = message => Console.Error.WriteLine($"xar: warning: {message}"),
        };
    }

    public static int ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        long multiplier = 1;
        if (t.EndsWith('K')) { multiplier = 1024; t = t[..^1]; }
        else if (t.EndsWith('M')) { multiplier = 1024 * 1024; t = t[..^1]; }
        if (!long.TryParse(t, out long value) || value <= 0 || value * multiplier > int.MaxValue)
            throw new ArgumentException($"--block-size {text}: not a size (examples: 4K, 128K, 1M, 131072)");
        return (int)(value * multiplier);
    }
}
