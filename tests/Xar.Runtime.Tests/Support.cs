using System.Diagnostics;
using System.Security.Cryptography;
using Xar.Archive;
using Xar.SquashFs.Writing;

namespace Xar.Runtime.Tests;

/// <summary>The published launcher, (re)built through scripts/publish-launcher when missing or older than its sources.</summary>
public static class Launcher
{
    private static readonly Lazy<string> s_path = new(Publish, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Path => s_path.Value;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Xar.slnx")))
                return directory.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (Xar.slnx) above " + AppContext.BaseDirectory);
    }

    private static string Publish()
    {
        string binary = System.IO.Path.Combine(RepositoryRoot, ".artifacts/launcher/linux-x64/xarexec");
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= NewestSource())
            return binary;
        var (exitCode, stdout, stderr) = Run.Program(System.IO.Path.Combine(RepositoryRoot, "scripts/publish-launcher"), [], TimeSpan.FromMinutes(10));
        if (exitCode != 0)
            throw new InvalidOperationException($"scripts/publish-launcher failed ({exitCode}): {stderr}");
        return stdout.Trim();
    }

    private static DateTime NewestSource()
    {
        var newest = File.GetLastWriteTimeUtc(System.IO.Path.Combine(RepositoryRoot, "Directory.Build.props"));
        foreach (string project in (string[])["Xar.Exec", "Xar.Runtime", "Xar.Archive", "Xar.SquashFs"])
        {
            foreach (string file in Directory.EnumerateFiles(System.IO.Path.Combine(RepositoryRoot, "src", project), "*", SearchOption.AllDirectories))
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

public readonly record struct RunResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

public static class Run
{
    /// <summary>Runs a program; kills it after <paramref name="timeout"/>.</summary>
    public static RunResult Program(string file, IEnumerable<string> arguments, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
            start.WorkingDirectory = workingDirectory;
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        if (environment is not null)
        {
            foreach (var (name, value) in environment)
            {
                if (value is null)
                    start.Environment.Remove(name);
                else
                    start.Environment[name] = value;
            }
        }
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
            process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish");
        }
        process.WaitForExit();
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}

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
        IReadOnlyDictionary<string, string>? extraFiles = null, IReadOnlyDictionary<string, string>? extraHeader = null)
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
        var header = new XarHeaderFields { Version = 1, XarexecTarget = xarexecTarget, MountRoot = mountRoot };
        foreach (var (key, value) in extraHeader ?? new Dictionary<string, string>())
            header.Extra[key] = value;

        string archive = System.IO.Path.Combine(directory, $"app-{target}-{layout}-{Guid.NewGuid():N}.xar".ToLowerInvariant());
        var writer = new SquashFsWriter(new SquashFsWriterOptions { FixedTime = 0 });
        writer.AddDirectory(tree);
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
        string output = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "xar-runtime-tests-target-" + Guid.NewGuid().ToString("N"));
        var result = Run.Program("cc", ["-O2", "-o", output, System.IO.Path.Combine(AppContext.BaseDirectory, "Targets", "target.c")]);
        if (result.ExitCode != 0)
            throw new InvalidOperationException("cc failed: " + result.Stderr);
        byte[] bytes = File.ReadAllBytes(output);
        File.Delete(output);
        return bytes;
    }

    public static string Sha256(string path, long offset)
    {
        using FileStream stream = File.OpenRead(path);
        stream.Position = offset;
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
