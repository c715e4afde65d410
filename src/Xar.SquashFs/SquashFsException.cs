namespace Xar.SquashFs;

/// <summary>
/// The one exception the SquashFS library throws for a bad image, a bad input tree or a codec
/// failure. The message says what is wrong and where (a path, a table, a byte offset).
/// </summary>
public sealed class SquashFsException : IOException
{
    public SquashFsException(string message) : base(message) { }
    public SquashFsException(string message, Exception inner) : base(message, inner) { }
}
