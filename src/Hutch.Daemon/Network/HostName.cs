using System.Globalization;

namespace Hutch.Daemon.Network;

/// <summary>
/// The one spelling of a host name that policy, DNS and the proxy compare: lower-case ASCII (an
/// internationalized name as its punycode A-label), no trailing dot, labels of letters, digits,
/// '-' and '_' (DNS names such as <c>_dmarc.example.org</c> carry underscores), at most 253 characters.
/// A name the C library would read as a number (<c>127.1</c>, <c>0x7f</c>, <c>2130706433</c>) is no name:
/// getaddrinfo would turn it into an address without asking DNS, so it is refused here.
/// </summary>
public static class HostName
{
    public const int MaxLength = 253;
    private const int MaxLabel = 63;
    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = false, AllowUnassigned = false };

    /// <summary>The normalized name, or null with <paramref name="error"/> saying what is wrong (to follow "is …" or a field name).</summary>
    public static string? Normalize(string text, out string? error)
    {
        error = null;
        var name = text.EndsWith('.') ? text[..^1] : text;
        if (name.Length == 0)
        {
            error = text.Length == 0 ? "is empty" : "is only a dot";
            return null;
        }
        if (!name.All(char.IsAscii))
        {
            try
            {
                name = Idn.GetAscii(name);
            }
            catch (ArgumentException)
            {
                error = $"'{text}' is not a valid internationalized host name";
                return null;
            }
        }
        name = name.ToLowerInvariant();
        if (name.Length > MaxLength)
        {
            error = $"is {name.Length} characters long; a host name has at most {MaxLength}";
            return null;
        }
        foreach (var label in name.Split('.'))
        {
            if (LabelError(label) is { } bad)
            {
                error = $"'{text}' is not a host name: {bad}";
                return null;
            }
        }
        if (InetAton.Parse(name) is { } number)
        {
            error = $"'{text}' is read by the C library as the address {number}; write an address as a dotted quad of four decimal parts";
            return null;
        }
        if (name[(name.LastIndexOf('.') + 1)..].All(char.IsAsciiDigit))
        {
            error = $"'{text}' is not a host name: its last label is all digits";
            return null;
        }
        return name;
    }

    private static string? LabelError(string label)
    {
        if (label.Length == 0)
        {
            return "it has an empty label (two dots in a row, or a leading dot)";
        }
        if (label.Length > MaxLabel)
        {
            return $"the label '{label}' is longer than {MaxLabel} characters";
        }
        if (label[0] == '-' || label[^1] == '-')
        {
            return $"the label '{label}' starts or ends with '-'";
        }
        foreach (var c in label)
        {
            if (c == '*')
            {
                return "'*' may only be the whole leftmost label, as in *.example.org";
            }
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'))
            {
                return $"'{c}' is not a letter, digit, '-' or '_'";
            }
        }
        return null;
    }
}
