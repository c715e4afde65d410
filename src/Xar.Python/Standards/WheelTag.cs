namespace Xar.Python.Standards;

/// <summary>
/// One PEP 425 compatibility tag, <c>interpreter-abi-platform</c> (<c>cp312-abi3-manylinux_2_17_x86_64</c>),
/// lowercased as packaging stores it.
/// </summary>
public sealed record WheelTag
{
    public WheelTag(string interpreter, string abi, string platform)
    {
        Interpreter = interpreter.ToLowerInvariant();
        Abi = abi.ToLowerInvariant();
        Platform = platform.ToLowerInvariant();
    }

    public string Interpreter { get; }

    public string Abi { get; }

    public string Platform { get; }

    /// <summary>
    /// Expands a compressed tag set (<c>py2.py3-none-any</c>: each part may list alternatives
    /// separated by dots) into its tags, in order, without duplicates.
    /// </summary>
    public static IReadOnlyList<WheelTag> ParseCompressed(string tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        string[] parts = tags.Split('-');
        if (parts.Length != 3)
            throw new FormatException($"Invalid compatibility tag '{tags}': expected interpreter-abi-platform");
        var expanded = new List<WheelTag>();
        foreach (string interpreter in parts[0].Split('.'))
            foreach (string abi in parts[1].Split('.'))
                foreach (string platform in parts[2].Split('.'))
                {
                    var tag = new WheelTag(interpreter, abi, platform);
                    if (!expanded.Contains(tag)) expanded.Add(tag);
                }
        return expanded;
    }

    public override string ToString() => $"{Interpreter}-{Abi}-{Platform}";
}
