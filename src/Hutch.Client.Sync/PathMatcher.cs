namespace Hutch.Client.Sync;

/// <summary>
/// Gitignore-style patterns over relative '/'-separated paths, as sync's excludes and preserves use them.
/// </summary>
/// <remarks>
/// The rules are gitignore's (https://git-scm.com/docs/gitignore#_pattern_format), minus trailing-space
/// trimming (a pattern is taken as written):
/// <list type="bullet">
/// <item><c>*</c> matches any run of characters but '/', <c>?</c> one character, <c>[a-z]</c> / <c>[!a-z]</c> a class, <c>\x</c> the character x.</item>
/// <item>A pattern with no '/' but a trailing one matches a name at any depth (<c>*.log</c>, <c>node_modules/</c>).</item>
/// <item>A '/' at the start or in the middle anchors the pattern at the top (<c>/rooted</c>, <c>docs/*.md</c>).</item>
/// <item>A trailing '/' matches directories only.</item>
/// <item><c>**/x</c> matches x at any depth, <c>a/**/b</c> zero or more directories between, <c>x/**</c> everything inside x (not x itself).</item>
/// <item><c>!pattern</c> re-includes what an earlier pattern matched; the last matching pattern wins. As in
/// git, nothing inside a matched directory can be re-included: a matched directory takes everything under it.</item>
/// <item>Empty patterns and ones starting with '#' are ignored (<c>\#</c> and <c>\!</c> escape those characters).</item>
/// </list>
/// Matching is ordinal (case-sensitive), as on the Linux side.
/// </remarks>
internal sealed class PathMatcher
{
    public static readonly PathMatcher None = new([]);

    private readonly Rule[] _rules;

    public PathMatcher(IEnumerable<string> patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        _rules = patterns.Select(Rule.Parse).OfType<Rule>().ToArray();
    }

    /// <summary>
    /// True when <paramref name="path"/> is matched, by a pattern of its own or because a directory
    /// above it is. <paramref name="isDirectory"/> is what the path is; its ancestors are directories.
    /// </summary>
    public bool IsMatch(string path, bool isDirectory)
    {
        if (_rules.Length == 0)
        {
            return false;
        }
        var segments = path.Split('/');
        for (var depth = 1; depth < segments.Length; depth++)
        {
            if (Decide(segments.AsSpan(0, depth), isDirectory: true))
            {
                return true;
            }
        }
        return Decide(segments, isDirectory);
    }

    /// <summary>The last rule that matches decides: excluded unless it is a negation.</summary>
    private bool Decide(ReadOnlySpan<string> segments, bool isDirectory)
    {
        for (var i = _rules.Length - 1; i >= 0; i--)
        {
            if (_rules[i].Matches(segments, isDirectory))
            {
                return !_rules[i].Negated;
            }
        }
        return false;
    }

    private sealed class Rule
    {
        private readonly Glob?[] _segments; // null stands for a "**" segment
        private readonly bool _directoryOnly;

        private Rule(Glob?[] segments, bool directoryOnly, bool negated)
        {
            _segments = segments;
            _directoryOnly = directoryOnly;
            Negated = negated;
        }

        public bool Negated { get; }

        public static Rule? Parse(string pattern)
        {
            ArgumentNullException.ThrowIfNull(pattern);
            if (pattern.Length == 0 || pattern[0] == '#')
            {
                return null;
            }
            var negated = pattern[0] == '!';
            var body = negated ? pattern[1..] : pattern;
            var directoryOnly = body.EndsWith('/');
            body = body.TrimEnd('/');
            // A '/' left at the start or in the middle anchors the pattern; otherwise it matches at any depth.
            var anchored = body.Contains('/');
            body = body.TrimStart('/');
            if (body.Length == 0)
            {
                return null;
            }
            var segments = body.Split('/', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => s == "**" ? null : new Glob(s));
            return new Rule((anchored ? segments : segments.Prepend(null)).ToArray(), directoryOnly, negated);
        }

        public bool Matches(ReadOnlySpan<string> path, bool isDirectory) =>
            (isDirectory || !_directoryOnly) && Match(0, path);

        private bool Match(int p, ReadOnlySpan<string> path)
        {
            if (p == _segments.Length)
            {
                return path.IsEmpty;
            }
            if (_segments[p] is not { } glob)
            {
                if (p == _segments.Length - 1)
                {
                    // A trailing "**" is everything inside: at least one more segment.
                    return !path.IsEmpty;
                }
                for (var skip = 0; skip <= path.Length; skip++)
                {
                    if (Match(p + 1, path[skip..]))
                    {
                        return true;
                    }
                }
                return false;
            }
            return !path.IsEmpty && glob.Matches(path[0]) && Match(p + 1, path[1..]);
        }
    }

    /// <summary>One segment's wildcard pattern: literals, '?', '*' and bracket classes.</summary>
    private sealed class Glob
    {
        private readonly Token[] _tokens;

        public Glob(string segment)
        {
            var tokens = new List<Token>();
            for (var i = 0; i < segment.Length; i++)
            {
                var c = segment[i];
                if (c == '*')
                {
                    if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Star)
                    {
                        tokens.Add(Token.Star());
                    }
                }
                else if (c == '?')
                {
                    tokens.Add(Token.AnyChar());
                }
                else if (c == '[' && TryParseClass(segment, i, out var token, out var end))
                {
                    tokens.Add(token);
                    i = end;
                }
                else if (c == '\\' && i + 1 < segment.Length)
                {
                    tokens.Add(Token.Literal(segment[++i]));
                }
                else
                {
                    tokens.Add(Token.Literal(c));
                }
            }
            _tokens = tokens.ToArray();
        }

        /// <summary>Wildcard matching with one backtrack point: the last '*' seen absorbs one more character on a mismatch.</summary>
        public bool Matches(string name)
        {
            int t = 0, n = 0, starToken = -1, starName = 0;
            while (n < name.Length)
            {
                if (t < _tokens.Length && _tokens[t].Kind == TokenKind.Star)
                {
                    starToken = ++t;
                    starName = n;
                }
                else if (t < _tokens.Length && _tokens[t].Accepts(name[n]))
                {
                    t++;
                    n++;
                }
                else if (starToken >= 0)
                {
                    t = starToken;
                    n = ++starName;
                }
                else
                {
                    return false;
                }
            }
            while (t < _tokens.Length && _tokens[t].Kind == TokenKind.Star)
            {
                t++;
            }
            return t == _tokens.Length;
        }

        /// <summary>Parses "[...]" starting at <paramref name="start"/>; false (a literal '[') when it never closes.</summary>
        private static bool TryParseClass(string segment, int start, out Token token, out int end)
        {
            var i = start + 1;
            var negated = i < segment.Length && segment[i] is '!' or '^';
            if (negated)
            {
                i++;
            }
            var ranges = new List<(char From, char To)>();
            var first = true;
            for (; i < segment.Length; i++)
            {
                var c = segment[i];
                if (c == ']' && !first)
                {
                    token = Token.Class(ranges.ToArray(), negated);
                    end = i;
                    return true;
                }
                first = false;
                if (c == '\\' && i + 1 < segment.Length)
                {
                    c = segment[++i];
                }
                if (i + 2 < segment.Length && segment[i + 1] == '-' && segment[i + 2] != ']')
                {
                    var to = segment[i + 2];
                    if (to == '\\' && i + 3 < segment.Length)
                    {
                        to = segment[i + 3];
                        i++;
                    }
                    ranges.Add((c, to));
                    i += 2;
                }
                else
                {
                    ranges.Add((c, c));
                }
            }
            token = default;
            end = start;
            return false;
        }
    }

    private enum TokenKind { Literal, AnyChar, Star, Class }

    private readonly struct Token
    {
        private readonly char _char;
        private readonly (char From, char To)[]? _ranges;
        private readonly bool _negated;

        private Token(TokenKind kind, char c = '\0', (char From, char To)[]? ranges = null, bool negated = false)
        {
            Kind = kind;
            _char = c;
            _ranges = ranges;
            _negated = negated;
        }

        public TokenKind Kind { get; }

        public static Token Literal(char c) => new(TokenKind.Literal, c);

        public static Token AnyChar() => new(TokenKind.AnyChar);

        public static Token Star() => new(TokenKind.Star);

        public static Token Class((char From, char To)[] ranges, bool negated) => new(TokenKind.Class, ranges: ranges, negated: negated);

        public bool Accepts(char c) => Kind switch
        {
            TokenKind.Literal => c == _char,
            TokenKind.AnyChar => true,
            TokenKind.Class => _ranges!.Any(r => c >= r.From && c <= r.To) != _negated,
            _ => false,
        };
    }
}
