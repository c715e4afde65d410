using System.Text.RegularExpressions;

namespace Xar.Python.Standards;

/// <summary>
/// One entry point from entry_points.txt: <c>name = module:attr.sub [extra1, extra2]</c> in
/// section <see cref="Group"/>. For a console or GUI script, calling
/// <c>import module; module.attr.sub()</c> runs it.
/// </summary>
public sealed record EntryPoint(string Group, string Name, string Module, string? Attribute, IReadOnlyList<string> Extras)
{
    /// <summary>The object reference as written in normalized spacing: <c>module:attr [extra]</c>.</summary>
    public string Value =>
        Module + (Attribute is null ? "" : ":" + Attribute) + (Extras.Count == 0 ? "" : " [" + string.Join(", ", Extras) + "]");

    /// <summary>The attribute path split on dots (<c>attr.sub</c> → attr, sub); empty when the reference is a module.</summary>
    public IReadOnlyList<string> AttributePath => Attribute is null ? [] : Attribute.Split('.');
}

/// <summary>
/// The entry points specification's entry_points.txt: an INI file whose sections are groups and
/// whose <c>name = value</c> lines are entry points. Names are case-sensitive and may contain
/// anything but <c>=</c>; comments start with <c>#</c> or <c>;</c>.
/// </summary>
public sealed partial class EntryPointsFile
{
    public const string ConsoleScriptsGroup = "console_scripts";
    public const string GuiScriptsGroup = "gui_scripts";

    // The specification's pattern for an object reference: module, optional :attr, optional [extras].
    [GeneratedRegex(@"^(?<module>[\w.]+)\s*(?::\s*(?<attr>[\w.]+)\s*)?(?:(?<extras>\[.*\])\s*)?$")]
    private static partial Regex ObjectReference();

    [GeneratedRegex(@"\w+(?:[-.]\w+)*")]
    private static partial Regex ExtraName();

    private EntryPointsFile(IReadOnlyList<EntryPoint> entryPoints) => EntryPoints = entryPoints;

    /// <summary>Every entry point, in file order.</summary>
    public IReadOnlyList<EntryPoint> EntryPoints { get; }

    public IEnumerable<EntryPoint> ConsoleScripts => InGroup(ConsoleScriptsGroup);

    public IEnumerable<EntryPoint> GuiScripts => InGroup(GuiScriptsGroup);

    public IEnumerable<EntryPoint> InGroup(string group) => EntryPoints.Where(e => e.Group == group);

    /// <summary>Parses the text of an entry_points.txt; throws <see cref="InvalidEntryPointException"/>.</summary>
    public static EntryPointsFile Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entryPoints = new List<EntryPoint>();
        string? group = null;
        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[')
            {
                if (line[^1] != ']') throw new InvalidEntryPointException(line, "a section header must end with ']'");
                group = line[1..^1].Trim();
                continue;
            }
            int equals = line.IndexOf('=');
            if (equals < 0) throw new InvalidEntryPointException(line, "expected 'name = module:attribute'");
            if (group is null) throw new InvalidEntryPointException(line, "the entry point is not in a [group] section");
            string name = line[..equals].Trim();
            if (name.Length == 0) throw new InvalidEntryPointException(line, "the name is empty");
            entryPoints.Add(ParseObjectReference(group, name, line[(equals + 1)..].Trim()));
        }
        return new EntryPointsFile(entryPoints);
    }

    /// <summary>Parses <c>module:attr [extras]</c>, the value of an entry point (or an <c>--entry</c> argument).</summary>
    public static EntryPoint ParseObjectReference(string group, string name, string value)
    {
        var match = ObjectReference().Match(value);
        if (!match.Success) throw new InvalidEntryPointException(value, "expected 'module', 'module:attribute' or either followed by [extras]");
        var attribute = match.Groups["attr"];
        var extras = match.Groups["extras"];
        return new EntryPoint(
            group,
            name,
            match.Groups["module"].Value,
            attribute.Success ? attribute.Value : null,
            extras.Success ? ExtraName().Matches(extras.Value).Select(m => m.Value).ToArray() : []);
    }
}
