using System.Text;
using System.Text.RegularExpressions;

namespace Xar.Python.Standards;

/// <summary>
/// The PEP 508 grammar as packaging's hand-written parser reads it (packaging/_parser.py and
/// _tokenizer.py): the same tokens, tried in the same places, so that what is accepted, what
/// whitespace is allowed where, and the error messages all agree with pip.
/// </summary>
internal sealed partial class DependencySpecifierParser
{
    private enum Token
    {
        LeftParenthesis,
        RightParenthesis,
        LeftBracket,
        RightBracket,
        Semicolon,
        Comma,
        QuotedString,
        Operator,
        BooleanOperator,
        In,
        Not,
        Variable,
        Specifier,
        At,
        Url,
        Identifier,
        VersionPrefixTrail,
        VersionLocalLabelTrail,
        Whitespace,
        End,
    }

    [GeneratedRegex(@"\G\(")] private static partial Regex LeftParenthesisRule();
    [GeneratedRegex(@"\G\)")] private static partial Regex RightParenthesisRule();
    [GeneratedRegex(@"\G\[")] private static partial Regex LeftBracketRule();
    [GeneratedRegex(@"\G\]")] private static partial Regex RightBracketRule();
    [GeneratedRegex(@"\G;")] private static partial Regex SemicolonRule();
    [GeneratedRegex(@"\G,")] private static partial Regex CommaRule();
    [GeneratedRegex(@"\G(?:'[^']*'|""[^""]*"")")] private static partial Regex QuotedStringRule();
    [GeneratedRegex(@"\G(?:===|==|~=|!=|<=|>=|<|>)")] private static partial Regex OperatorRule();
    [GeneratedRegex(@"\G\b(?:or|and)\b")] private static partial Regex BooleanOperatorRule();
    [GeneratedRegex(@"\G\bin\b")] private static partial Regex InRule();
    [GeneratedRegex(@"\G\bnot\b")] private static partial Regex NotRule();
    [GeneratedRegex(@"\G\b(?:python_version|python_full_version|os[._]name|sys[._]platform|platform_(?:release|system)|platform[._](?:version|machine|python_implementation)|python_implementation|implementation_(?:name|version)|extra)\b")]
    private static partial Regex VariableRule();
    [GeneratedRegex(@"\G" + Standards.Specifier.OperatorAndVersionPattern, RegexOptions.ExplicitCapture)]
    private static partial Regex SpecifierRule();
    [GeneratedRegex(@"\G@")] private static partial Regex AtRule();
    [GeneratedRegex(@"\G[^ \t]+")] private static partial Regex UrlRule();
    [GeneratedRegex(@"\G\b[a-zA-Z0-9][a-zA-Z0-9._-]*\b")] private static partial Regex IdentifierRule();
    [GeneratedRegex(@"\G\.\*")] private static partial Regex VersionPrefixTrailRule();
    [GeneratedRegex(@"\G\+[a-z0-9]+(?:[-_.][a-z0-9]+)*")] private static partial Regex VersionLocalLabelTrailRule();
    [GeneratedRegex(@"\G[ \t]+")] private static partial Regex WhitespaceRule();
    [GeneratedRegex(@"\G$")] private static partial Regex EndRule();

    private readonly string _source;
    // The specifier token is matched case-insensitively (ASCII only, see PythonText.FoldAscii).
    private readonly string _foldedSource;
    private readonly Func<string, Exception> _error;
    private int _position;
    private string? _nextText;

    private DependencySpecifierParser(string source, Func<string, Exception> error)
    {
        _source = source;
        _foldedSource = PythonText.FoldAscii(source);
        _error = error;
    }

    /// <summary>The parts of a requirement; the specifier text is handed to <see cref="SpecifierSet.Parse"/>.</summary>
    public sealed record ParsedRequirement(string Name, IReadOnlyList<string> Extras, string Specifier, string? Url, MarkerExpression? Marker);

    public static ParsedRequirement ParseRequirement(string source) =>
        new DependencySpecifierParser(source, message => new InvalidRequirementException(source, message)).Requirement();

    public static MarkerExpression ParseMarker(string source)
    {
        var parser = new DependencySpecifierParser(source, message => new InvalidMarkerException(source, message));
        var marker = parser.MarkerList();
        parser.Expect(Token.End, "end of marker expression");
        return marker;
    }

    private ParsedRequirement Requirement()
    {
        Consume(Token.Whitespace);
        string name = Expect(Token.Identifier, "package name at the start of dependency specifier");
        Consume(Token.Whitespace);
        var extras = Extras();
        Consume(Token.Whitespace);

        string specifier = "";
        string? url = null;
        MarkerExpression? marker = null;
        if (Check(Token.At))
        {
            Read();
            Consume(Token.Whitespace);
            int urlStart = _position;
            url = Expect(Token.Url, "URL after @");
            if (!Peek(Token.End))
            {
                Expect(Token.Whitespace, "whitespace after URL");
                if (!Peek(Token.End)) marker = RequirementMarker(urlStart, "URL and whitespace");
            }
        }
        else
        {
            int specifierStart = _position;
            specifier = Specifiers();
            Consume(Token.Whitespace);
            if (!Peek(Token.End))
                marker = RequirementMarker(specifierStart, specifier.Length > 0 ? "version specifier" : "name and no valid version specifier");
        }
        Expect(Token.End, "end of dependency specifier");
        return new ParsedRequirement(name, extras, specifier, url, marker);
    }

    private MarkerExpression RequirementMarker(int spanStart, string after)
    {
        if (!Check(Token.Semicolon)) throw SyntaxError($"Expected end or semicolon (after {after})", spanStart);
        Read();
        var marker = MarkerList();
        Consume(Token.Whitespace);
        return marker;
    }

    private List<string> Extras()
    {
        var extras = new List<string>();
        if (!Peek(Token.LeftBracket)) return extras;
        int open = _position;
        Check(Token.LeftBracket);
        Read();
        Consume(Token.Whitespace);
        if (Check(Token.Identifier))
        {
            extras.Add(Read());
            while (true)
            {
                Consume(Token.Whitespace);
                if (Peek(Token.Identifier)) throw SyntaxError("Expected comma between extra names");
                if (!Check(Token.Comma)) break;
                Read();
                Consume(Token.Whitespace);
                extras.Add(Expect(Token.Identifier, "extra name after comma"));
            }
        }
        Consume(Token.Whitespace);
        if (!Check(Token.RightBracket)) throw SyntaxError("Expected matching RIGHT_BRACKET for LEFT_BRACKET, after extras", open);
        Read();
        return extras;
    }

    // A specifier list, optionally in parentheses: "(>=1.0, <2)".
    private string Specifiers()
    {
        int? open = null;
        if (Check(Token.LeftParenthesis))
        {
            open = _position;
            Read();
        }
        Consume(Token.Whitespace);
        var specifiers = new StringBuilder();
        while (Check(Token.Specifier))
        {
            int spanStart = _position;
            specifiers.Append(Read());
            if (Peek(Token.VersionPrefixTrail))
                throw SyntaxError(".* suffix can only be used with `==` or `!=` operators", spanStart, _position + 1);
            if (Peek(Token.VersionLocalLabelTrail))
                throw SyntaxError("Local version label can only be used with `==` or `!=` operators", spanStart, _position);
            Consume(Token.Whitespace);
            if (!Check(Token.Comma)) break;
            specifiers.Append(Read());
            Consume(Token.Whitespace);
        }
        Consume(Token.Whitespace);
        if (open is { } openPosition)
        {
            if (!Check(Token.RightParenthesis))
                throw SyntaxError("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier", openPosition);
            Read();
        }
        return specifiers.ToString();
    }

    // marker_or / marker_and as a flat list: atoms joined by "and"/"or", evaluated with "and"
    // binding tighter.
    private MarkerExpression MarkerList()
    {
        var atoms = new List<MarkerExpression> { MarkerAtom() };
        var operators = new List<string>();
        while (Check(Token.BooleanOperator))
        {
            operators.Add(Read());
            atoms.Add(MarkerAtom());
        }
        // Parentheses around a single atom change nothing, so they leave no node behind.
        return atoms.Count == 1 ? atoms[0] : new MarkerList(atoms, operators);
    }

    private MarkerExpression MarkerAtom()
    {
        Consume(Token.Whitespace);
        MarkerExpression marker;
        if (Peek(Token.LeftParenthesis))
        {
            int open = _position;
            Check(Token.LeftParenthesis);
            Read();
            Consume(Token.Whitespace);
            marker = MarkerList();
            Consume(Token.Whitespace);
            if (!Check(Token.RightParenthesis))
                throw SyntaxError("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker expression", open);
            Read();
        }
        else
        {
            marker = MarkerItem();
        }
        Consume(Token.Whitespace);
        return marker;
    }

    private MarkerComparison MarkerItem()
    {
        Consume(Token.Whitespace);
        var left = MarkerValue();
        Consume(Token.Whitespace);
        string op = MarkerOperator();
        Consume(Token.Whitespace);
        var right = MarkerValue();
        Consume(Token.Whitespace);
        return new MarkerComparison(left, op, right);
    }

    private MarkerOperand MarkerValue()
    {
        if (Check(Token.Variable))
        {
            // "os.name" is the legacy spelling of os_name; "python_implementation" of platform_python_implementation.
            string variable = Read().Replace('.', '_');
            return new MarkerOperand(variable == "python_implementation" ? "platform_python_implementation" : variable, IsVariable: true);
        }
        if (Check(Token.QuotedString))
        {
            string quoted = Read();
            return new MarkerOperand(quoted[1..^1], IsVariable: false);
        }
        throw SyntaxError("Expected a marker variable or quoted string");
    }

    private string MarkerOperator()
    {
        if (Check(Token.In))
        {
            Read();
            return "in";
        }
        if (Check(Token.Not))
        {
            Read();
            Expect(Token.Whitespace, "whitespace after 'not'");
            Expect(Token.In, "'in' after 'not'");
            return "not in";
        }
        if (Check(Token.Operator)) return Read();
        throw SyntaxError("Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in");
    }

    private static Regex Rule(Token token) => token switch
    {
        Token.LeftParenthesis => LeftParenthesisRule(),
        Token.RightParenthesis => RightParenthesisRule(),
        Token.LeftBracket => LeftBracketRule(),
        Token.RightBracket => RightBracketRule(),
        Token.Semicolon => SemicolonRule(),
        Token.Comma => CommaRule(),
        Token.QuotedString => QuotedStringRule(),
        Token.Operator => OperatorRule(),
        Token.BooleanOperator => BooleanOperatorRule(),
        Token.In => InRule(),
        Token.Not => NotRule(),
        Token.Variable => VariableRule(),
        Token.Specifier => SpecifierRule(),
        Token.At => AtRule(),
        Token.Url => UrlRule(),
        Token.Identifier => IdentifierRule(),
        Token.VersionPrefixTrail => VersionPrefixTrailRule(),
        Token.VersionLocalLabelTrail => VersionLocalLabelTrailRule(),
        Token.Whitespace => WhitespaceRule(),
        _ => EndRule(),
    };

    private Match MatchAt(Token token) => Rule(token).Match(token == Token.Specifier ? _foldedSource : _source, _position);

    /// <summary>Whether the token is next, without taking it.</summary>
    private bool Peek(Token token) => MatchAt(token).Success;

    /// <summary>Whether the token is next; if so it is remembered for <see cref="Read"/>.</summary>
    private bool Check(Token token)
    {
        var match = MatchAt(token);
        if (!match.Success) return false;
        _nextText = _source.Substring(match.Index, match.Length);
        return true;
    }

    private string Read()
    {
        string text = _nextText!;
        _position += text.Length;
        _nextText = null;
        return text;
    }

    private void Consume(Token token)
    {
        if (Check(token)) Read();
    }

    private string Expect(Token token, string expected) =>
        Check(token) ? Read() : throw SyntaxError($"Expected {expected}");

    // packaging's ParserSyntaxError text: the message, the source, and a line marking the span.
    private Exception SyntaxError(string message, int? spanStart = null, int? spanEnd = null)
    {
        int start = spanStart ?? _position, end = spanEnd ?? _position;
        string marker = new string(' ', start) + new string('~', Math.Max(0, end - start)) + "^";
        return _error(string.Join("\n    ", message, _source, marker));
    }
}
