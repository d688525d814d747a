using System.Buffers;
using System.Text;

namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// The placeholders one intercepted connection may carry. Request heads get each placeholder
/// replaced by its value in every header but Host (Host names the server and was checked against
/// the allowed name; a placeholder there never becomes a value), including inside
/// <c>Authorization: Basic</c>'s base64 (git and pip send user:password that way); the query and a
/// whole body (<see cref="RequestRewriter"/> holds it) only for the secrets that say so. Responses get
/// each value masked back (<see cref="ResponseMasker"/>), so an upstream that echoes the key does
/// not hand it to the sandbox.
/// </summary>
public sealed class SubstitutionTable(IReadOnlyList<Substitution> items)
{
    public IReadOnlyList<Substitution> Items => items;

    /// <summary>Placeholders replaced so far on this connection.</summary>
    public int Substituted { get; private set; }

    /// <summary>A whole request head (Latin-1, lines ending in CRLF or LF), with placeholders replaced.</summary>
    public string RewriteHead(string head)
    {
        if (!head.Contains("Basic ", StringComparison.OrdinalIgnoreCase) && !items.Any(s => head.Contains(s.Placeholder, StringComparison.Ordinal)))
        {
            return head;
        }
        var lines = head.Split('\n');
        lines[0] = RewriteQuery(lines[0]);
        for (var i = 1; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(':');
            if (colon <= 0 || lines[i][..colon].Trim().Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            lines[i] = lines[i][..(colon + 1)] + RewriteValue(lines[i][(colon + 1)..]);
        }
        return string.Join('\n', lines);
    }

    /// <summary>The request line's query (after '?'), for the secrets that allow it; the method and path are never touched.</summary>
    private string RewriteQuery(string requestLine)
    {
        var parts = requestLine.Split(' ');
        var question = parts.Length == 3 ? parts[1].IndexOf('?') : -1;
        if (question < 0 || !items.Any(s => s.InQuery))
        {
            return requestLine;
        }
        parts[1] = parts[1][..question] + Replace(parts[1][question..], inQuery: true);
        return string.Join(' ', parts);
    }

    /// <summary>
    /// A whole request body with the placeholders of the secrets that say "body" replaced (each value
    /// as <see cref="BodyValues"/> writes it for <paramref name="contentType"/>); null when none was there.
    /// </summary>
    public byte[]? RewriteBody(ReadOnlySpan<byte> body, string? contentType)
    {
        byte[]? rewritten = null;
        foreach (var item in items.Where(i => i.InBody))
        {
            var placeholder = Encoding.ASCII.GetBytes(item.Placeholder);
            ReadOnlySpan<byte> from = rewritten is null ? body : rewritten;
            var at = from.IndexOf(placeholder);
            if (at < 0)
            {
                continue;
            }
            var value = BodyValues.Encode(item.Value, contentType);
            var output = new ArrayBufferWriter<byte>(from.Length + value.Length);
            while (at >= 0)
            {
                output.Write(from[..at]);
                output.Write(value);
                Substituted++;
                from = from[(at + placeholder.Length)..];
                at = from.IndexOf(placeholder);
            }
            output.Write(from);
            rewritten = output.WrittenSpan.ToArray();
        }
        return rewritten;
    }

    private string RewriteValue(string value)
    {
        var trimmed = value.TrimStart();
        if (trimmed.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) && DecodeBasic(trimmed[6..].Trim()) is { } credentials)
        {
            var replaced = Replace(credentials);
            if (!ReferenceEquals(replaced, credentials))
            {
                return value[..(value.Length - trimmed.Length)] + "Basic " + Convert.ToBase64String(Encoding.Latin1.GetBytes(replaced))
                    + (value.EndsWith('\r') ? "\r" : "");
            }
        }
        return Replace(value);
    }

    /// <summary>
    /// Every placeholder in <paramref name="text"/> replaced by its value's bytes (as Latin-1; in a
    /// query, percent-encoded); the same instance when none was there.
    /// </summary>
    private string Replace(string text, bool inQuery = false)
    {
        foreach (var item in items.Where(i => inQuery ? i.InQuery : i.InHeaders))
        {
            var at = text.IndexOf(item.Placeholder, StringComparison.Ordinal);
            while (at >= 0)
            {
                var value = inQuery ? Uri.EscapeDataString(Encoding.Latin1.GetString(item.Value)) : Encoding.Latin1.GetString(item.Value);
                text = string.Concat(text.AsSpan(0, at), value, text.AsSpan(at + item.Placeholder.Length));
                Substituted++;
                at = text.IndexOf(item.Placeholder, at + value.Length, StringComparison.Ordinal);
            }
        }
        return text;
    }

    private static string? DecodeBasic(string encoded)
    {
        var bytes = new byte[encoded.Length];
        return Convert.TryFromBase64String(encoded, bytes, out var length) ? Encoding.Latin1.GetString(bytes, 0, length) : null;
    }
}
