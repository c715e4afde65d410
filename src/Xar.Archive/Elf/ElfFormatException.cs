namespace Xar.Archive.Elf;

/// <summary>
/// A file is not an ELF object this reader accepts, or its headers point outside it. The message
/// is one line: the file, then the problem.
/// </summary>
public sealed class ElfFormatException : IOException
{
    public ElfFormatException(string filePath, string problem)
        : base($"{filePath}: {problem}")
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file as the caller named it.</summary>
    public string FilePath { get; }

    /// <summary>The problem without the file name.</summary>
    public string Problem { get; }
}
