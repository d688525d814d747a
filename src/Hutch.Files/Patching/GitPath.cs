using System.Text;

namespace Hutch.Files.Patching;

/// <summary>
/// Paths as diff headers write them. Git quotes a path that has control characters, '"', '\' or
/// (with the default core.quotePath) any byte above 0x7f, C-style with octal escapes for the raw
/// bytes: "a/caf\303\251.txt". Headers are read as Latin-1, so escapes and unescaped bytes both end
/// up as one char per byte and the whole path is decoded from UTF-8 once at the end.
/// </summary>
internal static class GitPath
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The Latin-1 path turned into the real (UTF-8 decoded) path; null if its bytes are not UTF-8.</summary>
    public static string? Decode(string latin1)
    {
        try
        {
            return StrictUtf8.GetString(Encoding.Latin1.GetBytes(latin1));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Whether a path carries git's side prefix ("a/" for the old side, "b/" for the new one).</summary>
    public static bool HasPrefix(string path, char side) => path.Length > 2 && path[0] == side && path[1] == '/';

    /// <summary>
    /// The path of a "--- " or "+++ " line (<paramref name="rest"/> is what follows). Unquoted, it
    /// ends at the first tab: diff -u puts the timestamp after one, and git adds a lone tab after a
    /// name with a space so the name cannot be mistaken for name plus timestamp.
    /// </summary>
    public static string? FromFileLine(string rest)
    {
        if (rest.StartsWith('"'))
        {
            var pos = 0;
            return TryUnquote(rest, ref pos, out var path) && (pos == rest.Length || rest[pos] == '\t' || rest[pos] == ' ') ? path : null;
        }
        var tab = rest.IndexOf('\t');
        var name = tab < 0 ? rest : rest[..tab];
        return name.Length == 0 ? null : name;
    }

    /// <summary>A path after "rename from " and the like: quoted, or the whole rest.</summary>
    public static string? FromRest(string rest)
    {
        if (!rest.StartsWith('"'))
        {
            return rest.Length == 0 ? null : rest;
        }
        var pos = 0;
        return TryUnquote(rest, ref pos, out var path) && pos == rest.Length ? path : null;
    }

    /// <summary>
    /// The two paths of "diff --git A B". Unquoted names may contain spaces, so the line alone can
    /// be ambiguous; like git, take the split where both sides name the same file (which is every
    /// diff but a rename, whose names come from "rename from/to" anyway), else the only split that
    /// gives "a/…" and "b/…". Returns nulls when the line cannot be split with confidence.
    /// </summary>
    public static (string? Old, string? New) SplitHeader(string rest)
    {
        if (rest.StartsWith('"'))
        {
            var pos = 0;
            if (!TryUnquote(rest, ref pos, out var first) || pos >= rest.Length || rest[pos] != ' ')
            {
                return (null, null);
            }
            var second = FromRest(rest[(pos + 1)..]);
            return second is null ? (null, null) : (first, second);
        }
        if (rest.EndsWith('"'))
        {
            for (var space = rest.LastIndexOf(" \"", StringComparison.Ordinal); space > 0; space = rest.LastIndexOf(" \"", space - 1, StringComparison.Ordinal))
            {
                var pos = space + 1;
                if (TryUnquote(rest, ref pos, out var second) && pos == rest.Length)
                {
                    return (rest[..space], second);
                }
            }
            return (null, null);
        }
        var prefixed = new List<int>();
        var spaces = new List<int>();
        for (var i = rest.IndexOf(' '); i >= 0; i = rest.IndexOf(' ', i + 1))
        {
            spaces.Add(i);
            var (left, right) = (rest[..i], rest[(i + 1)..]);
            var bothPrefixed = HasPrefix(left, 'a') && HasPrefix(right, 'b');
            if (left == right || (bothPrefixed && left.AsSpan(2).SequenceEqual(right.AsSpan(2))))
            {
                return (left, right);
            }
            if (bothPrefixed)
            {
                prefixed.Add(i);
            }
        }
        var split = prefixed.Count == 1 ? prefixed[0] : spaces.Count == 1 ? spaces[0] : -1;
        return split < 0 ? (null, null) : (rest[..split], rest[(split + 1)..]);
    }

    /// <summary>Reads a C-style quoted string starting at <paramref name="pos"/> (on the opening quote).</summary>
    private static bool TryUnquote(string s, ref int pos, out string value)
    {
        value = "";
        var result = new StringBuilder();
        for (var i = pos + 1; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '"')
            {
                pos = i + 1;
                value = result.ToString();
                return true;
            }
            if (c != '\\')
            {
                result.Append(c);
                continue;
            }
            if (++i >= s.Length)
            {
                return false;
            }
            switch (s[i])
            {
                case 'a': result.Append('\a'); break;
                case 'b': result.Append('\b'); break;
                case 't': result.Append('\t'); break;
                case 'n': result.Append('\n'); break;
                case 'v': result.Append('\v'); break;
                case 'f': result.Append('\f'); break;
                case 'r': result.Append('\r'); break;
                case '"': result.Append('"'); break;
                case '\\': result.Append('\\'); break;
                case >= '0' and <= '3' when i + 2 < s.Length && IsOctal(s[i + 1]) && IsOctal(s[i + 2]):
                    result.Append((char)(((s[i] - '0') << 6) | ((s[i + 1] - '0') << 3) | (s[i + 2] - '0')));
                    i += 2;
                    break;
                default: return false;
            }
        }
        return false;
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
