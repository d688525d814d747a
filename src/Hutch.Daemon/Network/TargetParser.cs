using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hutch.Daemon.Network;

/// <summary>Where a program asked to connect: a normalized name or a literal address, and a port.</summary>
public sealed record EgressTarget(string? Host, IPAddress? Address, int Port);

/// <summary>
/// Reads a CONNECT target or an HTTP Host / absolute-form authority strictly (docs/design/0009,
/// section 3): a host name (see <see cref="HostName"/>), a dotted quad of four decimal parts, or
/// <c>[IPv6]</c>, then <c>:PORT</c>. Numeric forms the C library would also accept
/// (<c>2130706433</c>, <c>0x7f.1</c>, <c>0177.0.0.1</c>, <c>127.1</c>, <c>0</c>) are refused with
/// <see cref="EgressCodes.BadTarget"/>, and the message says which address they stand for: whether
/// a client or the upstream reads them as a name or a number, the two must not disagree. A form that
/// parses still goes through the policy and <see cref="RefusedRanges"/> as an address.
/// </summary>
public static class TargetParser
{
    private const int MaxLength = HostName.MaxLength + 1 + 5;

    /// <param name="defaultPort">The port when the text has none (80 or 443 for a Host header); null where a port is required (CONNECT).</param>
    /// <returns>The target, or null with <paramref name="error"/> (for <see cref="EgressCodes.BadTarget"/>).</returns>
    public static EgressTarget? Parse(string text, int? defaultPort, out string? error)
    {
        error = null;
        if (text.Length is 0 or > MaxLength || text.Any(c => c <= ' ' || c >= 0x7f))
        {
            error = text.Length == 0 ? "the target is empty" : $"the target '{Quoted.Clip(text, 64)}' is too long or holds spaces, control or non-ASCII characters";
            return null;
        }
        string host, port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0 || (close + 1 < text.Length && text[close + 1] != ':'))
            {
                error = $"the target '{text}' opens '[' without ']' followed by nothing or ':PORT'";
                return null;
            }
            (host, port) = (text[1..close], close + 1 < text.Length ? text[(close + 2)..] : "");
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon >= 0 && text.IndexOf(':') != colon)
            {
                error = $"the target '{text}' has several ':'; write an IPv6 address in brackets, as [2001:db8::1]:443";
                return null;
            }
            (host, port) = colon < 0 ? (text, "") : (text[..colon], text[(colon + 1)..]);
        }
        int portNumber;
        if (port.Length == 0 && (text.EndsWith(':') || defaultPort is null))
        {
            error = $"the target '{text}' names no port; write HOST:PORT";
            return null;
        }
        if (port.Length == 0)
        {
            portNumber = defaultPort!.Value;
        }
        else if (port.Length > 5 || !port.All(char.IsAsciiDigit) || (portNumber = int.Parse(port, CultureInfo.InvariantCulture)) is < 1 or > 65535)
        {
            error = $"the target '{text}' has the port '{port}', not a number 1-65535";
            return null;
        }
        if (text.StartsWith('['))
        {
            return !host.Contains('%') && IPAddress.TryParse(host, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6
                ? new EgressTarget(null, v6, portNumber)
                : Fail($"the target '{text}' has no valid IPv6 address in its brackets (zones such as %eth0 are refused)", out error);
        }
        if (InetAton.ParseDottedQuad(host) is { } v4)
        {
            return new EgressTarget(null, v4, portNumber);
        }
        var name = HostName.Normalize(host, out var nameError);
        return name is not null ? new EgressTarget(name, null, portNumber) : Fail($"the target host {nameError}", out error);
    }

    private static EgressTarget? Fail(string message, out string? error)
    {
        error = message;
        return null;
    }

}
