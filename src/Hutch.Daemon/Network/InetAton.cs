using System.Globalization;
using System.Net;

namespace Hutch.Daemon.Network;

/// <summary>
/// How the C library reads a numeric IPv4 text (glibc's inet_aton, which getaddrinfo, curl and
/// .NET's own parser follow): one to four parts, each decimal, octal (leading 0) or hex (0x); the
/// last part fills the remaining bytes. So <c>2130706433</c>, <c>0x7f.1</c>, <c>0177.0.0.1</c> and
/// <c>127.1</c> are all 127.0.0.1, and <c>0</c> is 0.0.0.0. Hutch never connects to such text; it
/// uses this to refuse it (a name that a program would take for an address) and to say why.
/// </summary>
public static class InetAton
{
    /// <summary>The address glibc would read from <paramref name="text"/>, or null when it reads none.</summary>
    public static IPAddress? Parse(string text)
    {
        var parts = text.Split('.');
        if (parts.Length > 4 || text.Length == 0)
        {
            return null;
        }
        var values = new ulong[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryPart(parts[i], out values[i]))
            {
                return null;
            }
        }
        // Every part but the last is one byte; the last fills the 4 - (n - 1) bytes left.
        var lastBytes = 5 - parts.Length;
        ulong result = 0;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (values[i] > 0xff)
            {
                return null;
            }
            result |= values[i] << (8 * (3 - i));
        }
        var last = values[^1];
        if (last >= 1UL << (8 * lastBytes))
        {
            return null;
        }
        result |= last;
        return new IPAddress([(byte)(result >> 24), (byte)(result >> 16), (byte)(result >> 8), (byte)result]);
    }

    /// <summary>
    /// The one IPv4 form Hutch accepts as text: four decimal parts 0-255 without leading zeros
    /// (<c>192.0.2.7</c>), so every reader, whatever its C library, sees the same address.
    /// </summary>
    public static IPAddress? ParseDottedQuad(string text)
    {
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return null;
        }
        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var p = parts[i];
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit) || int.Parse(p, CultureInfo.InvariantCulture) > 255)
            {
                return null;
            }
            bytes[i] = (byte)int.Parse(p, CultureInfo.InvariantCulture);
        }
        return new IPAddress(bytes);
    }

    private static bool TryPart(string part, out ulong value)
    {
        value = 0;
        if (part.Length == 0 || part.Length > 12)
        {
            return false;
        }
        if (part.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            // glibc accepts a bare "0x" as 0; every part here is short, so no overflow.
            return part.Length == 2 || ulong.TryParse(part.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
        if (part.Length > 1 && part[0] == '0')
        {
            foreach (var c in part.AsSpan(1))
            {
                if (c is < '0' or > '7')
                {
                    return false;
                }
                value = value * 8 + (ulong)(c - '0');
            }
            return true;
        }
        foreach (var c in part)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            value = value * 10 + (ulong)(c - '0');
        }
        return true;
    }
}
