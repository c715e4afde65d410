using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Xar.Python.Standards;

/// <summary>A marker compares two values with an operator that has no meaning for them (<c>~=</c> on non-versions).</summary>
public sealed class MarkerEvaluationException(string message) : InvalidOperationException(message);

/// <summary>A node of a parsed marker.</summary>
internal abstract record MarkerExpression;

/// <summary>A variable name (<c>python_version</c>) or a literal string.</summary>
internal sealed record MarkerOperand(string Value, bool IsVariable)
{
    public override string ToString() => IsVariable ? Value : $"\"{Value}\"";
}

internal sealed record MarkerComparison(MarkerOperand Left, string Operator, MarkerOperand Right) : MarkerExpression
{
    public bool ComparesExtra => Left is { IsVariable: true, Value: "extra" } || Right is { IsVariable: true, Value: "extra" };
}

/// <summary>Atoms joined by "and"/"or" (<see cref="Operators"/> has one fewer entry than <see cref="Atoms"/>).</summary>
internal sealed record MarkerList(IReadOnlyList<MarkerExpression> Atoms, IReadOnlyList<string> Operators) : MarkerExpression;

/// <summary>
/// A PEP 508 environment marker, such as <c>python_version &lt; "3.8" and platform_machine == "x86_64"</c>.
/// Comparisons use PEP 440 version rules when the right side with the operator forms a version
/// specifier and the left side is a version, and Python string comparison otherwise; <c>and</c>
/// binds tighter than <c>or</c>. The <c>extra</c> variable and the literals compared with it are
/// normalized (PEP 685).
/// </summary>
public sealed class Marker : IEquatable<Marker>
{
    private readonly MarkerExpression _expression;
    private readonly string _text;

    internal Marker(MarkerExpression expression)
    {
        _expression = NormalizeExtras(expression);
        _text = Format(_expression, topLevel: true);
    }

    /// <summary>Parses a marker; throws <see cref="InvalidMarkerException"/> with packaging's message.</summary>
    public static Marker Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Marker(DependencySpecifierParser.ParseMarker(text));
    }

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Marker? marker)
    {
        marker = null;
        if (text is null) return false;
        try
        {
            marker = Parse(text);
            return true;
        }
        catch (InvalidMarkerException)
        {
            return false;
        }
    }

    /// <summary>Evaluates with <c>extra</c> set to <paramref name="extra"/> (empty: no extra requested).</summary>
    public bool Evaluate(MarkerEnvironment environment, string extra = "")
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(extra);
        return Evaluate(_expression, environment, extra);
    }

    /// <summary>
    /// Evaluates as pip does for a distribution installed with <paramref name="requestedExtras"/>:
    /// with none, <c>extra</c> is empty; otherwise the marker holds when it holds for any one of them.
    /// </summary>
    public bool Evaluate(MarkerEnvironment environment, IReadOnlyCollection<string> requestedExtras)
    {
        ArgumentNullException.ThrowIfNull(requestedExtras);
        if (requestedExtras.Count == 0) return Evaluate(environment);
        // Any(): each extra is a separate evaluation, so an error in one is not hidden by another.
        bool result = false;
        foreach (string extra in requestedExtras) result |= Evaluate(environment, extra);
        return result;
    }

    /// <summary>The normalized form packaging prints: <c>python_version &lt; "3.8" and (os_name == "nt" or extra == "win")</c>.</summary>
    public override string ToString() => _text;

    public bool Equals(Marker? other) => other is not null && _text == other._text;

    public override bool Equals(object? obj) => obj is Marker other && Equals(other);

    public override int GetHashCode() => _text.GetHashCode(StringComparison.Ordinal);

    private static bool Evaluate(MarkerExpression expression, MarkerEnvironment environment, string extra)
    {
        switch (expression)
        {
            case MarkerComparison comparison:
                string left = Resolve(comparison.Left, environment, extra);
                string right = Resolve(comparison.Right, environment, extra);
                if (comparison.ComparesExtra)
                {
                    left = DistributionName.Normalize(left);
                    right = DistributionName.Normalize(right);
                }
                return Compare(left, comparison.Operator, right);

            case MarkerList list:
                // Like packaging, every atom is evaluated (no short-circuit), so a comparison that
                // cannot be evaluated is reported even where the other operand decides the result.
                bool anyGroup = false, group = Evaluate(list.Atoms[0], environment, extra);
                for (int i = 0; i < list.Operators.Count; i++)
                {
                    bool next = Evaluate(list.Atoms[i + 1], environment, extra);
                    if (list.Operators[i] == "or")
                    {
                        anyGroup |= group;
                        group = next;
                    }
                    else
                    {
                        group &= next;
                    }
                }
                return anyGroup | group;

            default:
                throw new UnreachableException();
        }
    }

    private static string Resolve(MarkerOperand operand, MarkerEnvironment environment, string extra) =>
        !operand.IsVariable ? operand.Value : operand.Value == "extra" ? extra : environment.Get(operand.Value);

    private static bool Compare(string left, string op, string right)
    {
        bool isSpecifier = Specifier.TryParse(op + right, out var specifier);
        if (isSpecifier && PythonVersion.TryParse(left, out var version))
            return specifier!.Contains(version, prereleases: true);

        // Not both versions: Python's string operators. packaging would raise InvalidVersion when
        // only the right side is a version (platform_release = "6.1.0-18-amd64" >= "5"); PEP 508
        // says to fall back to the Python operator, which is what we do.
        return op switch
        {
            "in" => right.Contains(left, StringComparison.Ordinal),
            "not in" => !right.Contains(left, StringComparison.Ordinal),
            "<" => PythonText.CompareCodePoints(left, right) < 0,
            "<=" => PythonText.CompareCodePoints(left, right) <= 0,
            "==" => left == right,
            "!=" => left != right,
            ">=" => PythonText.CompareCodePoints(left, right) >= 0,
            ">" => PythonText.CompareCodePoints(left, right) > 0,
            // === is string equality by definition (PEP 440), as packaging's arbitrary match does it.
            "===" when isSpecifier => string.Equals(left.ToLowerInvariant(), right.ToLowerInvariant(), StringComparison.Ordinal),
            _ => throw new MarkerEvaluationException($"Undefined {op} on '{left}' and '{right}'."),
        };
    }

    // PEP 685: the literal compared with `extra` is normalized, so `extra == "Foo_Bar"` prints as
    // `extra == "foo-bar"`. (packaging does this for the first comparison only, but normalizes
    // every one when evaluating; normalizing all of them keeps the printed form truthful.)
    private static MarkerExpression NormalizeExtras(MarkerExpression expression) => expression switch
    {
        MarkerComparison { ComparesExtra: true } comparison => comparison with
        {
            Left = comparison.Left.IsVariable ? comparison.Left : comparison.Left with { Value = DistributionName.Normalize(comparison.Left.Value) },
            Right = comparison.Right.IsVariable ? comparison.Right : comparison.Right with { Value = DistributionName.Normalize(comparison.Right.Value) },
        },
        MarkerList list => list with { Atoms = list.Atoms.Select(NormalizeExtras).ToArray() },
        _ => expression,
    };

    // Nested lists are parenthesized; the top level is not.
    private static string Format(MarkerExpression expression, bool topLevel)
    {
        switch (expression)
        {
            case MarkerComparison comparison:
                return $"{comparison.Left} {comparison.Operator} {comparison.Right}";
            case MarkerList list:
                var text = new StringBuilder();
                if (!topLevel) text.Append('(');
                text.Append(Format(list.Atoms[0], topLevel: false));
                for (int i = 0; i < list.Operators.Count; i++)
                    text.Append(' ').Append(list.Operators[i]).Append(' ').Append(Format(list.Atoms[i + 1], topLevel: false));
                if (!topLevel) text.Append(')');
                return text.ToString();
            default:
                throw new UnreachableException();
        }
    }
}
