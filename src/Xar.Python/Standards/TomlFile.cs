using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Serialization;
using Tomlyn.Syntax;

namespace Xar.Python.Standards;

/// <summary>A TOML file that does not parse, or a field of the wrong type or missing; the message names the file (and line and column, or the field).</summary>
public sealed class InvalidTomlException(string message) : FormatException(message);

/// <summary>
/// Reads TOML files (pyproject.toml, pylock.toml) with Tomlyn's untyped model, which needs no
/// reflection (the CLI is trimmed): tables are <see cref="TomlTable"/>, arrays
/// <see cref="TomlArray"/> or <see cref="TomlTableArray"/>, strings, longs, doubles, booleans
/// and dates.
/// </summary>
public static class TomlFile
{
    /// <summary>The document's root table, as <see cref="TomlFields"/>; bad TOML is an <see cref="InvalidTomlException"/> "FILE:LINE:COLUMN: problem".</summary>
    public static TomlFields Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: cannot read: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses <paramref name="text"/>, read from <paramref name="path"/> (named in errors).</summary>
    public static TomlFields Parse(string text, string path)
    {
        // The syntax tree carries each problem with its position; the deserializer would report only
        // where the value it was converting starts.
        var syntax = SyntaxParser.Parse(text, path, validate: true);
        if (syntax.HasErrors)
        {
            var error = syntax.Diagnostics.First(d => d.Kind == DiagnosticMessageKind.Error);
            throw new InvalidTomlException($"{path}:{error.Span.Start.Line + 1}:{error.Span.Start.Column + 1}: invalid TOML: {error.Message}");
        }
        TomlTable table;
        try
        {
            table = TomlSerializer.Deserialize(text, TomlModelContext.Default.TomlTable) ?? new TomlTable();
        }
        catch (TomlException e)
        {
            string where = e.Line is { } line ? $"{path}:{line}:{e.Column ?? 1}" : path;
            throw new InvalidTomlException($"{where}: invalid TOML: {e.Message.Split('\n')[0]}");
        }
        return new TomlFields(table, path, "");
    }
}

/// <summary>
/// One table of a TOML file with typed, checked access to its fields: a field of the wrong type
/// is an <see cref="InvalidTomlException"/> naming the file, the table and the field.
/// </summary>
public sealed class TomlFields(TomlTable table, string path, string tableName)
{
    /// <summary>The file the table comes from.</summary>
    public string Path { get; } = path;

    /// <summary>Where the table is, as errors name it ("[tool.xar]", "packages[2]"), empty for the root.</summary>
    public string TableName { get; } = tableName;

    public IEnumerable<string> Keys => table.Keys;

    public bool Contains(string key) => table.ContainsKey(key);

    /// <summary>The raw value (string, long, double, bool, TomlArray, TomlTable, TomlTableArray, a date), or null when absent.</summary>
    public object? Value(string key) => table.TryGetValue(key, out var value) ? value : null;

    public string? String(string key) => Typed<string>(key, "a string");

    public string RequiredString(string key) => String(key) ?? throw Missing(key);

    public bool? Boolean(string key) => Value(key) is null ? null : Typed<bool>(key, "true or false");

    public long? Integer(string key) => Value(key) is null ? null : Typed<long>(key, "an integer");

    public TomlFields? Table(string key) =>
        Value(key) is null ? null : new TomlFields(Typed<TomlTable>(key, "a table")!, Path, Qualify(key));

    /// <summary>An array of strings, or null when absent.</summary>
    public IReadOnlyList<string>? Strings(string key)
    {
        if (Value(key) is null) return null;
        var array = Typed<TomlArray>(key, "an array of strings")!;
        return array.Select(item => item as string ?? throw Invalid(key, "an array of strings")).ToArray();
    }

    /// <summary>An array of tables (<c>[[key]]</c> or an array of inline tables), empty when absent.</summary>
    public IReadOnlyList<TomlFields> Tables(string key)
    {
        IEnumerable<object?> items = Value(key) switch
        {
            null => [],
            TomlTableArray tables => tables,
            TomlArray array => array,
            _ => throw Invalid(key, "an array of tables"),
        };
        return items.Select((item, i) => item is TomlTable t ? new TomlFields(t, Path, $"{Qualify(key)}[{i}]") : throw Invalid(key, "an array of tables")).ToArray();
    }

    /// <summary>An error about a field of this table: "FILE: TABLE.KEY: problem".</summary>
    public InvalidTomlException Error(string key, string problem) => new($"{Path}: {Qualify(key)}: {problem}");

    private T? Typed<T>(string key, string expected)
    {
        object? value = Value(key);
        return value switch
        {
            null => default,
            T typed => typed,
            _ => throw Invalid(key, expected),
        };
    }

    private InvalidTomlException Invalid(string key, string expected) =>
        Error(key, $"expected {expected}, got {Describe(Value(key))}");

    private InvalidTomlException Missing(string key) => Error(key, "missing");

    private string Qualify(string key) => TableName.Length == 0 ? key : $"{TableName}.{key}";

    private static string Describe(object? value) => value switch
    {
        string s => $"the string \"{s}\"",
        bool b => b ? "true" : "false",
        long or double => $"the number {value}",
        TomlTable => "a table",
        TomlArray or TomlTableArray => "an array",
        _ => value?.GetType().Name ?? "nothing",
    };
}

/// <summary>Tomlyn's metadata for its own untyped model, generated at build time: no reflection, so trimming keeps what it needs.</summary>
[TomlSerializable(typeof(TomlTable))]
internal sealed partial class TomlModelContext : TomlSerializerContext;
