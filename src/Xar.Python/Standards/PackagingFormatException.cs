namespace Xar.Python.Standards;

/// <summary>
/// A string is not valid under one of the Python packaging standards. <see cref="Input"/> is the
/// string exactly as given, and the message names it, so a command can print the message as is.
/// </summary>
public abstract class PackagingFormatException : FormatException
{
    private protected PackagingFormatException(string input, string message, Exception? inner = null)
        : base(message, inner)
    {
        Input = input;
    }

    /// <summary>The rejected text, as the caller passed it.</summary>
    public string Input { get; }
}

/// <summary>Not a PEP 440 version.</summary>
public sealed class InvalidVersionException(string input)
    : PackagingFormatException(input, $"Invalid version: '{input}'");

/// <summary>Not a PEP 440 version specifier (or comma-separated set of them).</summary>
public sealed class InvalidSpecifierException(string input, string? detail = null)
    : PackagingFormatException(input, detail is null ? $"Invalid specifier: '{input}'" : $"Invalid specifier: '{input}': {detail}");

/// <summary>
/// Not a PEP 508 dependency specifier. The message shows where parsing stopped, as packaging does:
/// the problem, the requirement, and a caret line under the offending span.
/// </summary>
public sealed class InvalidRequirementException(string input, string message)
    : PackagingFormatException(input, message);

/// <summary>Not a PEP 508 environment marker; the message has the same shape as for requirements.</summary>
public sealed class InvalidMarkerException(string input, string message)
    : PackagingFormatException(input, message);

/// <summary>Not a PEP 427 wheel file name.</summary>
public sealed class InvalidWheelFilenameException(string input, string problem)
    : PackagingFormatException(input, $"Invalid wheel filename '{input}': {problem}");

/// <summary>An entry_points.txt line or object reference that the entry points specification rejects.</summary>
public sealed class InvalidEntryPointException(string input, string problem)
    : PackagingFormatException(input, $"Invalid entry point '{input}': {problem}");
