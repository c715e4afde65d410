using Xar.Archive;

namespace Xar.Runtime;

/// <summary>
/// Finds the program of an archive's <see cref="StartCommand"/> and composes its argv, knowing
/// nothing of what the program is (docs/launcher.md §3.2). Candidates are chosen by
/// name, never by starting them: a probe would cost a process start on every run.
/// </summary>
internal static class TargetStart
{
    /// <summary>The program to execute, argv[0] as the candidate names it, and the argv.</summary>
    /// <exception cref="XarRuntimeException">No candidate is there (<see cref="XarExitCode.TargetNotFound"/>, one line naming each), or one in the image leaves it (<see cref="XarExitCode.BadArchive"/>).</exception>
    public static (string Program, string[] Argv) Resolve(StartCommand command, XarArchive archive, PreparedTree tree, IReadOnlyList<string> arguments, string? searchPath)
    {
        string? program = null;
        string? named = null;
        foreach (string candidate in command.Programs)
        {
            if (StartCommand.ImagePath(candidate) is { } inImage)
            {
                // Symlinks are resolved inside the image, as for XAREXEC_TARGET: never a host file.
                try
                {
                    program = ImageTarget.Resolve(archive, tree, inImage, XarHeaderKeys.StartProgram);
                }
                catch (XarRuntimeException e) when (e.ExitCode == XarExitCode.TargetNotFound)
                {
                    continue;
                }
                // argv[0] as named, not resolved: an interpreter finds its prefix from it.
                named = tree.Directory + "/" + inImage;
            }
            else if (candidate.Contains('/'))
            {
                named = program = ProgramRunner.IsExecutableFile(candidate) ? candidate : null;
            }
            else
            {
                named = program = ProgramRunner.Find(candidate, searchPath);
            }
            if (program is not null)
                break;
        }
        if (program is null)
        {
            string tried = string.Join(", then ", command.Programs.Select(candidate =>
                StartCommand.ImagePath(candidate) is { } inImage ? tree.Directory + "/" + inImage
                : candidate.Contains('/') ? candidate
                : $"{candidate} on PATH ({searchPath})"));
            throw new XarRuntimeException(XarExitCode.TargetNotFound, archive.Path, $"needs {command.Needs ?? "its program"}; tried {tried}");
        }

        var argv = new string[1 + command.Arguments.Count + arguments.Count];
        argv[0] = named!;
        for (int i = 0; i < command.Arguments.Count; i++)
            argv[1 + i] = StartCommand.Expand(command.Arguments[i], tree.Directory);
        for (int i = 0; i < arguments.Count; i++)
            argv[1 + command.Arguments.Count + i] = arguments[i];
        return (program, argv);
    }
}
