using System.CommandLine;
using Xar.Archive;
using Xar.SquashFs.Writing;

namespace Xar.Cli;

/// <summary>`xar build`: a directory with an executable (`--raw`) into one archive file.</summary>
internal static class BuildCommand
{
    public static Command Create(TextWriter stdout)
    {
        var raw = new Option<string>("--raw") { Description = "Pack this directory as it is (any directory with an executable).", Required = true };
        var exec = new Option<string>("--exec") { Description = "The executable to run, relative to the directory.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Archive to write.", Required = true };
        var layout = new Option<string>("--layout")
        {
            Description = "self: the launcher is inside, ./app.xar runs anywhere (default); xarexec: the original layout, needs xarexec on the host.",
            DefaultValueFactory = _ => "self",
        };
        layout.AcceptOnlyFromAmong("self", "xarexec");
        var launcher = new Option<string?>("--launcher") { Description = $"The xarexec launcher for the self layout (default: ${LauncherLocator.EnvironmentVariable}, or the one installed with xar)." };
        var codec = new CodecOptions();
        var command = new Command("build", "Build an archive.") { raw, exec, output, layout, launcher };
        codec.AddTo(command);
        command.SetAction(parse =>
        {
            var result = BuildRaw(parse.GetValue(raw)!, parse.GetValue(exec)!, parse.GetValue(output)!,
                parse.GetValue(layout) == "self" ? XarLayout.Self : XarLayout.Xarexec, parse.GetValue(launcher), codec.Read(parse));
            stdout.WriteLine($"{result.Path}: {new FileInfo(result.Path).Length:N0} bytes, {result.Layout.ToString().ToLowerInvariant()} layout, image sha256 {result.ImageSha256[..16]}…");
            return 0;
        });
        return command;
    }

    public static XarWriteResult BuildRaw(string directory, string executable, string output, XarLayout layout, string? launcherPath, SquashFsWriterOptions options)
    {
        if (!Directory.Exists(directory))
            throw new IOException($"{directory}: no such directory");
        string target = CheckExecutable(directory, executable);
        string? launcher = layout == XarLayout.Self ? LauncherLocator.Find(launcherPath) : null;

        var writer = new SquashFsWriter(options);
        writer.AddDirectory(directory);
        var header = new XarHeaderFields { Version = writer.ImageTime, XarexecTarget = target };
        using var launcherStream = launcher is null ? null : File.OpenRead(launcher);
        return XarArchiveWriter.Write(output, new XarWriteOptions { Header = header, Layout = layout, Launcher = launcherStream },
            image => writer.WriteTo(image));
    }

    /// <summary>The target must be a relative path to an executable regular file inside the directory.</summary>
    private static string CheckExecutable(string directory, string executable)
    {
        string relative = executable.Replace('\\', '/').TrimStart('.', '/');
        if (Path.IsPathRooted(executable) || relative.Split('/').Contains("..") || relative.Length == 0)
            throw new ArgumentException($"--exec {executable}: must be a path relative to {directory}, inside it");
        string full = Path.GetFullPath(Path.Combine(directory, relative));
        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
        {
            var resolved = info.ResolveLinkTarget(returnFinalTarget: true);
            if (resolved is null || !Path.GetFullPath(resolved.FullName).StartsWith(Path.GetFullPath(directory).TrimEnd('/') + "/", StringComparison.Ordinal))
                throw new ArgumentException($"--exec {executable}: a symlink that leads outside {directory}");
            info = new FileInfo(resolved.FullName);
        }
        if (!info.Exists)
            throw new IOException($"--exec {executable}: no such file in {directory}");
        if ((info.UnixFileMode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            throw new ArgumentException($"--exec {executable}: not executable (chmod +x it)");
        return relative;
    }
}
