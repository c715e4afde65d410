using System.CommandLine;
using Xar.SquashFs;

namespace Xar.Cli;

/// <summary>
/// `ls`, `cat`, `extract`, `info`: built once per parent (`xar` for archives, `xar squashfs` for
/// images); both accept bare images and archives of either layout.
/// </summary>
internal static class InspectionCommands
{
    public static IEnumerable<Command> All(TextWriter stdout, TextWriter stderr, string fileName, string fileDescription)
    {
        yield return Ls(stdout, fileName, fileDescription);
        yield return Cat(fileName, fileDescription);
        yield return Extract(stdout, stderr, fileName, fileDescription);
        yield return Info(stdout, fileName, fileDescription);
    }

    private static Command Ls(TextWriter stdout, string fileName, string fileDescription)
    {
        var file = new Argument<string>(fileName) { Description = fileDescription };
        var path = new Argument<string>("PATH") { Description = "Directory or file inside the image (default: the root).", DefaultValueFactory = _ => "/" };
        var longFormat = new Option<bool>("--long", "-l") { Description = "Mode, owner, size, time and link target." };
        var recursive = new Option<bool>("--recursive", "-R") { Description = "Everything below PATH, as paths." };
        var json = JsonOption();
        var command = new Command("ls", "List a directory of the image.") { file, path, longFormat, recursive, json };
        command.SetAction(parse =>
        {
            OpenedImage.Inspect(parse.GetValue(file)!, opened =>
            {
                if (parse.GetValue(json))
                    ImageInspection.ListJson(opened, parse.GetValue(path)!, parse.GetValue(recursive), stdout);
                else
                    ImageInspection.List(opened, parse.GetValue(path)!, parse.GetValue(longFormat), parse.GetValue(recursive), stdout);
            });
            return 0;
        });
        return command;
    }

    private static Command Cat(string fileName, string fileDescription)
    {
        var file = new Argument<string>(fileName) { Description = fileDescription };
        var paths = new Argument<string[]>("PATH") { Description = "Files inside the image.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("cat", "Write files of the image to standard output.") { file, paths };
        command.SetAction(parse =>
        {
            using var output = Console.OpenStandardOutput();
            OpenedImage.Inspect(parse.GetValue(file)!, opened => ImageInspection.Cat(opened, parse.GetValue(paths)!, output));
            return 0;
        });
        return command;
    }

    private static Command Extract(TextWriter stdout, TextWriter stderr, string fileName, string fileDescription)
    {
        var file = new Argument<string>(fileName) { Description = fileDescription };
        var destination = new Argument<string>("DEST") { Description = "Directory to extract into (created if missing)." };
        var paths = new Argument<string[]>("PATH") { Description = "Only these files or subtrees.", Arity = ArgumentArity.ZeroOrMore };
        var overwrite = new Option<bool>("--overwrite", "-f") { Description = "Replace files already present in DEST." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing on success: no progress, no result line." };
        var command = new Command("extract", "Extract the image, or parts of it, into a directory.") { file, destination, paths, overwrite, quiet };
        command.SetAction(parse =>
        {
            bool silent = parse.GetValue(quiet);
            var display = ProgressDisplay.For(stderr, silent);
            var progress = new OperationProgress();
            OpenedImage.Inspect(parse.GetValue(file)!, opened => display.Run(progress, stderr, warnings =>
            {
                ImageInspection.Extract(opened, parse.GetValue(destination)!, parse.GetValue(paths) ?? [], parse.GetValue(overwrite),
                    silent ? TextWriter.Null : stdout, warnings, progress);
                return 0;
            }));
            return 0;
        });
        return command;
    }

    private static Command Info(TextWriter stdout, string fileName, string fileDescription)
    {
        var file = new Argument<string>(fileName) { Description = fileDescription };
        var json = JsonOption();
        var command = new Command("info", "Show the header (archives), superblock, codec, counts and table sizes.") { file, json };
        command.SetAction(parse =>
        {
            OpenedImage.Inspect(parse.GetValue(file)!, opened =>
            {
                if (parse.GetValue(json))
                    JsonReports.Write(stdout, JsonReports.Info(opened, ImageInspection.TableRegions(opened)));
                else
                    ImageInspection.Info(opened, stdout);
            });
            return 0;
        });
        return command;
    }

    /// <summary>`--json`: the shapes are documented in docs/json-output.md.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "Write one JSON document (docs/json-output.md) instead of text." };
}
