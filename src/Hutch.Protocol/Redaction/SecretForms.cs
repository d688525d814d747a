using System.Text;

namespace Hutch.Protocol.Redaction;

/// <summary>
/// The byte sequences by which a secret's value can show up in output: the value itself, its base64
/// (standard and URL alphabets, at each of the three offsets it can have within a 3-byte group), its
/// percent-encoding (upper- and lower-case hex) and its JSON string escaping. Encoded forms that equal
/// the raw value (a value with nothing to escape) are left out.
/// </summary>
public static class SecretForms
{
    /// <summary>Every distinct form of <paramref name="value"/> to look for.</summary>
    public static IReadOnlyList<byte[]> Of(ReadOnlySpan<byte> value)
    {
        var forms = new List<byte[]> { value.ToArray() };
        for (var offset = 0; offset < 3; offset++)
        {
            var standard = Base64At(value, offset);
            forms.Add(standard);
            forms.Add(ToUrlAlphabet(standard));
        }
        forms.Add(PercentEncoded(value, "0123456789ABCDEF"));
        forms.Add(PercentEncoded(value, "0123456789abcdef"));
        forms.Add(JsonEscaped(value));
        var distinct = new List<byte[]>();
        foreach (var form in forms)
        {
            if (form.Length > 0 && !distinct.Any(d => d.AsSpan().SequenceEqual(form)))
            {
                distinct.Add(form);
            }
        }
        return distinct;
    }

    /// <summary>
    /// The base64 characters that depend on the value alone when it follows <paramref name="offset"/>
    /// other bytes of its 3-byte group: the characters that also carry bits of the bytes before or
    /// after it (or padding) are cut, so the form matches whatever surrounds the value.
    /// </summary>
    public static byte[] Base64At(ReadOnlySpan<byte> value, int offset)
    {
        var shifted = new byte[offset + value.Length];
        value.CopyTo(shifted.AsSpan(offset));
        var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(shifted));
        var first = (8 * offset + 5) / 6; // the first character whose 6 bits all come from the value
        var end = 8 * (offset + value.Length) / 6; // past the last one
        return end > first ? text[first..end] : [];
    }

    private static byte[] ToUrlAlphabet(byte[] base64) =>
        [.. base64.Select(b => b switch { (byte)'+' => (byte)'-', (byte)'/' => (byte)'_', _ => b })];

    /// <summary>RFC 3986: every byte but the unreserved characters as %XX.</summary>
    private static byte[] PercentEncoded(ReadOnlySpan<byte> value, string hex)
    {
        var encoded = new List<byte>(value.Length * 3);
        foreach (var b in value)
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~')
            {
                encoded.Add(b);
            }
            else
            {
                encoded.AddRange([(byte)'%', (byte)hex[b >> 4], (byte)hex[b & 0xF]]);
            }
        }
        return [.. encoded];
    }

    /// <summary>As a JSON encoder writes the value inside a string: quote, backslash and control characters escaped.</summary>
    private static byte[] JsonEscaped(ReadOnlySpan<byte> value)
    {
        var encoded = new List<byte>(value.Length + 8);
        foreach (var b in value)
        {
            var escape = b switch
            {
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                (byte)'\t' => "\\t",
                (byte)'\b' => "\\b",
                (byte)'\f' => "\\f",
                < 0x20 => $"\\u{b:x4}",
                _ => null,
            };
            if (escape is null)
            {
                encoded.Add(b);
            }
            else
            {
                encoded.AddRange(Encoding.ASCII.GetBytes(escape));
            }
        }
        return [.. encoded];
    }
}
