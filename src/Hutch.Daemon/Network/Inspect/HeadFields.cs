namespace Hutch.Daemon.Network.Inspect;

/// <summary>
/// Reads and edits the fields of a whole request head as <see cref="HttpHostCheck"/> holds it
/// (Latin-1 text, lines ending in CRLF or LF, the blank line included). Names are compared as the
/// framer reads them (case-insensitive, spaces around them ignored).
/// </summary>
internal static class HeadFields
{
    /// <summary>Every value of the field <paramref name="name"/>, each list split at its commas and trimmed.</summary>
    public static string[] Values(string head, string name) => [.. Fields(head.Split('\n'))
        .Where(line => Is(line, name))
        .SelectMany(line => line[(line.IndexOf(':') + 1)..].Split(','))
        .Select(value => value.Trim())
        .Where(value => value.Length > 0)];

    /// <summary>
    /// The head without the fields named in <paramref name="without"/>, and, when
    /// <paramref name="length"/> is given, with one <c>Content-Length</c> of that value in place of any it had.
    /// </summary>
    public static string Edit(string head, long? length, params string[] without)
    {
        var lines = head.Split('\n');
        var end = lines[0].EndsWith('\r') ? "\r" : "";
        var kept = new List<string> { lines[0] };
        kept.AddRange(Fields(lines).Where(line => !without.Any(name => Is(line, name)) && !(length is not null && Is(line, "Content-Length"))));
        if (length is { } value)
        {
            kept.Add($"Content-Length: {value}{end}");
        }
        kept.Add(end);
        kept.Add("");
        return string.Join('\n', kept);
    }

    /// <summary>The field lines: after the request line, before the blank line and the empty string after its LF.</summary>
    private static IEnumerable<string> Fields(string[] lines) => lines.Skip(1).Take(lines.Length - 3);

    private static bool Is(string line, string name)
    {
        var colon = line.IndexOf(':');
        return colon > 0 && line[..colon].Trim().Equals(name, StringComparison.OrdinalIgnoreCase);
    }
}
