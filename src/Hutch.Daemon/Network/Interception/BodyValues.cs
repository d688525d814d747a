namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// A secret's value as a request body of a given type must hold it where a placeholder (plain
/// ASCII, safe anywhere) stood: percent-encoded in a form (as in a query: an OAuth client secret
/// with '&amp;' or '+' must not become two fields or a space), JSON-escaped in JSON (a placeholder
/// only means something inside a string, where '"' and '\' would end or break it), and its bytes
/// as they are in any other body.
/// </summary>
internal static class BodyValues
{
    public static byte[] Encode(byte[] value, string? contentType)
    {
        var media = (contentType ?? "").Split(';')[0].Trim();
        if (media.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return Percent(value);
        }
        if (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        {
            return Json(value);
        }
        return value;
    }

    /// <summary>Every byte but RFC 3986's unreserved ones as %XX (a value's bytes, not its characters: no UTF-8 guess).</summary>
    private static byte[] Percent(byte[] value)
    {
        var output = new List<byte>(value.Length * 3);
        foreach (var b in value)
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~')
            {
                output.Add(b);
            }
            else
            {
                output.AddRange(System.Text.Encoding.ASCII.GetBytes($"%{b:X2}"));
            }
        }
        return [.. output];
    }

    /// <summary>RFC 8259's escapes for '"', '\' and control bytes; other bytes (UTF-8 included) stay as they are.</summary>
    private static byte[] Json(byte[] value)
    {
        var output = new List<byte>(value.Length + 8);
        foreach (var b in value)
        {
            if (b is (byte)'"' or (byte)'\\')
            {
                output.Add((byte)'\\');
                output.Add(b);
            }
            else if (b < 0x20)
            {
                output.AddRange(System.Text.Encoding.ASCII.GetBytes($"\\u{b:x4}"));
            }
            else
            {
                output.Add(b);
            }
        }
        return [.. output];
    }
}
