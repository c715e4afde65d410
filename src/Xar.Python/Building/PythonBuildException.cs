namespace Xar.Python.Building;

/// <summary>A Python application cannot be built as asked; the message says why, in one line.</summary>
public sealed class PythonBuildException : Exception
{
    public PythonBuildException(string message) : base(message) { }
    public PythonBuildException(string message, Exception inner) : base(message, inner) { }
}
