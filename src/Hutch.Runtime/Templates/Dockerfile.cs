using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hutch.Protocol.Api;

namespace Hutch.Runtime.Templates;

/// <summary>A Dockerfile Hutch cannot build, with the line to blame (0: none).</summary>
public sealed class DockerfileException(string message, int line) : CodedException(ErrorCodes.DockerfileInvalid, message)
{
    public int Line { get; } = line;
}

/// <summary>One instruction of a Dockerfile, continuations joined and comments left out.</summary>
/// <param name="Line">Its first line.</param>
/// <param name="Keyword">The instruction, upper-case (RUN, COPY, …).</param>
/// <param name="Arguments">What follows the keyword, trimmed (flags included).</param>
/// <param name="Json">The JSON-array ("exec") form's strings, when the arguments are one.</param>
public sealed record DockerfileInstruction(int Line, string Keyword, string Arguments, string[]? Json)
{
    /// <summary>As written, for messages and events: "RUN apt-get update".</summary>
    public string Text => Arguments.Length == 0 ? Keyword : $"{Keyword} {Arguments}";

    /// <summary>Leading --name=value flags (Docker reads them before substitution), and what follows them.</summary>
    public (Dictionary<string, string> Flags, string Remainder) SplitFlags()
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = Arguments;
        while (rest.StartsWith("--", StringComparison.Ordinal))
        {
            var end = rest.IndexOfAny([' ', '\t']);
            var flag = end < 0 ? rest : rest[..end];
            rest = end < 0 ? "" : rest[end..].TrimStart();
            var equals = flag.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? flag[2..] : flag[2..equals];
            if (!flags.TryAdd(name, equals < 0 ? "" : flag[(equals + 1)..]))
            {
                throw new DockerfileException($"line {Line}: --{name} is given twice in {Keyword}", Line);
            }
        }
        return (flags, rest);
    }
}

/// <summary>
/// Reads the Dockerfile subset Hutch builds (docs/templates.md#building-from-a-dockerfile): parser
/// directives (escape), comments, line continuations, case-insensitive keywords and the JSON-array
/// forms, after Docker's reference (docs.docker.com/reference/dockerfile). What each instruction
/// means is the builder's; this only splits the text. Written by hand: no .NET library reads Dockerfiles.
/// </summary>
public static partial class Dockerfile
{
    /// <summary>Most bytes of a Dockerfile.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>Instructions whose JSON-array form Docker reads as one.</summary>
    private static readonly HashSet<string> JsonForms = ["RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "SHELL", "VOLUME", "HEALTHCHECK"];

    public static IReadOnlyList<DockerfileInstruction> Parse(string text, out char escape)
    {
        escape = '\\';
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var i = 0;
        // Parser directives: "# key=value" lines at the very top, ended by any other line.
        for (; i < lines.Length; i++)
        {
            var m = Directive().Match(lines[i]);
            if (!m.Success)
            {
                break;
            }
            var key = m.Groups[1].Value.ToLowerInvariant();
            var value = m.Groups[2].Value.Trim();
            if (key == "escape")
            {
                escape = value switch
                {
                    "\\" => '\\',
                    "`" => '`',
                    _ => throw new DockerfileException($"line {i + 1}: the escape directive takes \\ or `, not '{value}'", i + 1),
                };
            }
        }
        var result = new List<DockerfileInstruction>();
        var joined = new StringBuilder();
        var start = 0;
        for (; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.TrimStart(' ', '\t');
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                // Comments and empty lines, also inside a continued instruction (Docker drops them).
                continue;
            }
            if (joined.Length == 0)
            {
                start = i + 1;
            }
            var body = line.TrimEnd(' ', '\t');
            if (body.EndsWith(escape) && i + 1 < lines.Length)
            {
                joined.Append(body.AsSpan(0, body.Length - 1));
                continue;
            }
            joined.Append(body.EndsWith(escape) ? body[..^1] : line);
            result.Add(Instruction(joined.ToString(), start));
            joined.Clear();
        }
        if (joined.Length > 0)
        {
            result.Add(Instruction(joined.ToString(), start));
        }
        return result;
    }

    private static DockerfileInstruction Instruction(string text, int line)
    {
        text = text.Trim(' ', '\t');
        var end = text.IndexOfAny([' ', '\t']);
        var keyword = (end < 0 ? text : text[..end]).ToUpperInvariant();
        var arguments = end < 0 ? "" : text[end..].Trim(' ', '\t');
        if (!KeywordPattern().IsMatch(keyword))
        {
            throw new DockerfileException($"line {line}: '{Shown(keyword)}' is not an instruction (a Dockerfile line starts with FROM, RUN, COPY, …)", line);
        }
        return new DockerfileInstruction(line, keyword, arguments, JsonForms.Contains(keyword) ? JsonArray(arguments) : null);
    }

    /// <summary>The strings of a JSON array of strings; null when the text is not one (Docker then reads the shell form).</summary>
    public static string[]? JsonArray(string text)
    {
        if (!text.StartsWith('['))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            var items = new List<string>();
            foreach (var item in document.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    return null;
                }
                items.Add(item.GetString()!);
            }
            return [.. items];
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Docker's word processing of an instruction's arguments: quotes (single: literal; double:
    /// the escape character escapes only ", $ and itself), the escape character, and ${VAR},
    /// ${VAR:-default}, ${VAR:+alternative}, $VAR from <paramref name="lookup"/> (unset: empty).
    /// Splits on unquoted blanks when <paramref name="split"/>; otherwise one word with blanks kept.
    /// </summary>
    public static List<string> Words(string text, Func<string, string?> lookup, char escape, bool split, int line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (split && c is ' ' or '\t' or '\n')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
                i++;
                continue;
            }
            inWord = true;
            if (c == escape)
            {
                if (i + 1 < text.Length)
                {
                    word.Append(text[i + 1]);
                }
                i += 2;
            }
            else if (c == '\'')
            {
                var close = text.IndexOf('\'', i + 1);
                if (close < 0)
                {
                    throw new DockerfileException($"line {line}: a single quote is not closed", line);
                }
                word.Append(text, i + 1, close - i - 1);
                i = close + 1;
            }
            else if (c == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw new DockerfileException($"line {line}: a double quote is not closed", line);
                    }
                    var d = text[i];
                    if (d == '"')
                    {
                        i++;
                        break;
                    }
                    if (d == escape && i + 1 < text.Length && text[i + 1] is '"' or '$' || d == escape && i + 1 < text.Length && text[i + 1] == escape)
                    {
                        word.Append(text[i + 1]);
                        i += 2;
                    }
                    else if (d == '$')
                    {
                        i = Variable(text, i, word, lookup, escape, line);
                    }
                    else
                    {
                        word.Append(d);
                        i++;
                    }
                }
            }
            else if (c == '$')
            {
                i = Variable(text, i, word, lookup, escape, line);
            }
            else
            {
                word.Append(c);
                i++;
            }
        }
        if (inWord || !split)
        {
            words.Add(word.ToString());
        }
        return words;
    }

    /// <summary>Substitutes in one string (a JSON form's element, a path): quotes kept as they are, only $ and the escape character processed.</summary>
    public static string Substitute(string text, Func<string, string?> lookup, char escape, int line)
    {
        var word = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == escape && i + 1 < text.Length && text[i + 1] == '$')
            {
                word.Append('$');
                i += 2;
            }
            else if (text[i] == '$')
            {
                i = Variable(text, i, word, lookup, escape, line);
            }
            else
            {
                word.Append(text[i++]);
            }
        }
        return word.ToString();
    }

    /// <summary>Reads a variable at text[i] == '$' into <paramref name="word"/>; returns the index after it.</summary>
    private static int Variable(string text, int i, StringBuilder word, Func<string, string?> lookup, char escape, int line)
    {
        if (i + 1 < text.Length && text[i + 1] == '{')
        {
            var close = text.IndexOf('}', i + 2);
            if (close < 0)
            {
                throw new DockerfileException($"line {line}: '${{' has no closing '}}'", line);
            }
            var inner = text[(i + 2)..close];
            var m = BracedVariable().Match(inner);
            if (!m.Success)
            {
                throw new DockerfileException($"line {line}: '${{{Shown(inner)}}}' is not a substitution Hutch reads: use ${{NAME}}, ${{NAME:-default}} or ${{NAME:+alternative}}", line);
            }
            var value = lookup(m.Groups[1].Value);
            var op = m.Groups[2].Value;
            var operand = m.Groups[3].Value;
            word.Append(op switch
            {
                "" => value ?? "",
                ":-" => string.IsNullOrEmpty(value) ? Substitute(operand, lookup, escape, line) : value,
                "-" => value ?? Substitute(operand, lookup, escape, line),
                ":+" => string.IsNullOrEmpty(value) ? "" : Substitute(operand, lookup, escape, line),
                _ /* "+" */ => value is null ? "" : Substitute(operand, lookup, escape, line),
            });
            return close + 1;
        }
        var name = NamePattern().Match(text, i + 1);
        if (name.Success && name.Index == i + 1)
        {
            word.Append(lookup(name.Value) ?? "");
            return i + 1 + name.Length;
        }
        word.Append('$');
        return i + 1;
    }

    private static string Shown(string text) =>
        string.Concat(text.Take(60).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    [GeneratedRegex(@"^#\s*([A-Za-z]+)\s*=\s*(.*)$")]
    private static partial Regex Directive();

    [GeneratedRegex("^[A-Z]+$")]
    private static partial Regex KeywordPattern();

    [GeneratedRegex(@"^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\+|\+)(.*))?$", RegexOptions.Singleline)]
    private static partial Regex BracedVariable();

    [GeneratedRegex("[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex NamePattern();
}
