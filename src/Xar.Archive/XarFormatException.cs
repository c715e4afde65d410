namespace Xar.Archive;

/// <summary>
/// A file is not a XAR archive this library accepts. The message is one line: the file, then the
/// problem (for example <c>app.xar: OFFSET "4000" is not a positive multiple of 4096</c>), so a
/// command can print it as is.
/// </summary>
public sealed class XarFormatException : IOException
{
    public XarFormatException(string filePath, string problem)
        : base($"{filePath}: {problem}")
    {
        FilePath = filePath;
        Problem = problem;
    }

    public XarFormatException(string filePath, string problem, Exception inner)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file as the caller named it.</summary>
    public string FilePath { get; }

    /// <summary>The problem without the file name.</summary>
    public string Problem { get; }
}
