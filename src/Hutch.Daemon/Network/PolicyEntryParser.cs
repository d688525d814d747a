using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hutch.Daemon.Network;

/// <summary>
/// One allow or deny entry: <c>HOST</c>, <c>*.DOMAIN</c>, <c>IPv4</c>, <c>IPv4/N</c>, <c>IPv6</c>,
/// <c>IPv6/N</c>, <c>[IPv6]</c>, <c>[IPv6/N]</c> or <c>net:NAME</c>, then optionally <c>:PORT</c> or
/// <c>:LOW-HIGH</c> (a bare IPv6 takes no port: brackets are needed to tell its colons apart).
/// </summary>
public static class PolicyEntryParser
{
    private const int MaxText = 300;

    public static PolicyEntry? Parse(string? text, bool allowOpenNetworks, out string? error)
    {
        error = null;
        if (text is null)
        {
            error = "is null";
            return null;
        }
        if (text.Length > MaxText)
        {
            error = $"is {text.Length} characters long; an entry has at most {MaxText}";
            return null;
        }
        if (text.Length == 0 || text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            error = $"'{text}' is empty or holds spaces or control characters";
            return null;
        }
        string target = text, port = "";
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0 || (close + 1 < text.Length && text[close + 1] != ':'))
            {
                error = $"'{text}' opens '[' without a closing ']' followed by nothing or ':PORT'";
                return null;
            }
            target = text[1..close];
            port = close + 1 < text.Length ? text[(close + 2)..] : "";
            if (!target.Contains(':'))
            {
                error = $"'{text}': brackets are for IPv6 addresses only";
                return null;
            }
        }
        else if ((text.StartsWith("net:", StringComparison.Ordinal) ? text[4..] : text).Count(c => c == ':') == 1)
        {
            var colon = text.LastIndexOf(':');
            (target, port) = (text[..colon], text[(colon + 1)..]);
        }
        var (low, high) = (1, 65535);
        if (text.EndsWith(':') || (port.Length > 0 && !TryPorts(port, out low, out high, out error)))
        {
            error = error is null ? $"'{text}' ends with ':' but no port" : $"'{text}': {error}";
            return null;
        }
        var portText = port.Length == 0 ? "" : low == high ? $":{low}" : $":{low}-{high}";
        if (target.StartsWith("net:", StringComparison.Ordinal))
        {
            var name = target[4..];
            if (!allowOpenNetworks)
            {
                error = $"'{text}': net: entries only open networks, so they belong in allow";
                return null;
            }
            if (name.Length is 0 or > 63 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'))
            {
                error = $"'{text}': a network name is 1-63 of [a-z0-9_-] (as in HUTCH_EGRESS_OPEN_NETWORKS)";
                return null;
            }
            return new PolicyEntry($"net:{name}{portText}", PolicyEntryKind.OpenNetwork, name, null, low, high);
        }
        if (target.Contains(':') || target.Contains('/') || (target.Any(char.IsAsciiDigit) && target.All(c => char.IsAsciiDigit(c) || c == '.')))
        {
            var network = ParseNetwork(target, out error);
            if (network is null)
            {
                error = $"'{text}' {error}";
                return null;
            }
            var shown = network.Value.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 && portText.Length > 0 ? $"[{Spell(network.Value)}]" : Spell(network.Value);
            return new PolicyEntry(shown + portText, PolicyEntryKind.Address, null, network, low, high);
        }
        var glob = target.StartsWith("*.", StringComparison.Ordinal);
        var host = HostName.Normalize(glob ? target[2..] : target, out error);
        if (host is null)
        {
            error = target == "*" ? "'*' alone is every host: use mode 'public'" : error!.StartsWith('\'') ? error : $"'{text}' {error}";
            return null;
        }
        return glob
            ? new PolicyEntry($"*.{host}{portText}", PolicyEntryKind.Glob, host, null, low, high)
            : new PolicyEntry(host + portText, PolicyEntryKind.Host, host, null, low, high);
    }

    private static string Spell(IPNetwork n) => n.PrefixLength == (n.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) ? n.BaseAddress.ToString() : n.ToString();

    /// <summary>An address or CIDR, strictly: dotted quads only for IPv4, no zone ids, no host bits past the prefix.</summary>
    private static IPNetwork? ParseNetwork(string text, out string? error)
    {
        error = null;
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        IPAddress? address;
        if (addressText.Contains(':'))
        {
            address = !addressText.Contains('%') && IPAddress.TryParse(addressText, out var a6) && a6.AddressFamily == AddressFamily.InterNetworkV6 ? a6 : null;
            if (address is { IsIPv4MappedToIPv6: true })
            {
                error = $"is an IPv4-mapped IPv6 address; write the IPv4 address {address.MapToIPv4()} instead";
                return null;
            }
        }
        else
        {
            address = InetAton.ParseDottedQuad(addressText);
        }
        if (address is null)
        {
            error = "is not an IP address: IPv4 is four decimal parts 0-255 without leading zeros, IPv6 has no zone (%)";
            return null;
        }
        var max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = max;
        if (slash >= 0)
        {
            var p = text[(slash + 1)..];
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (prefix = int.Parse(p, CultureInfo.InvariantCulture)) > max)
            {
                error = $"has a prefix length that is not 0-{max}";
                return null;
            }
        }
        var masked = Mask(address, prefix);
        if (!masked.Equals(address))
        {
            error = $"has bits set past its /{prefix} prefix; did you mean {masked}/{prefix}?";
            return null;
        }
        return new IPNetwork(address, prefix);
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - 8 * i, 0, 8);
            bytes[i] &= (byte)(0xff << (8 - keep));
        }
        return new IPAddress(bytes);
    }

    private static bool TryPorts(string text, out int low, out int high, out string? error)
    {
        error = null;
        var dash = text.IndexOf('-');
        var ok = dash < 0 ? TryPort(text, out low) & TryPort(text, out high) : TryPort(text[..dash], out low) & TryPort(text[(dash + 1)..], out high);
        if (!ok)
        {
            error = $"the port '{text}' is not a number 1-65535 or a range LOW-HIGH of them";
        }
        else if (low > high)
        {
            error = $"the port range {text} runs backwards; write {high}-{low}";
        }
        return error is null;
    }

    private static bool TryPort(string text, out int port)
    {
        port = 0;
        return text.Length is > 0 and <= 5 && text.All(char.IsAsciiDigit) && (port = int.Parse(text, CultureInfo.InvariantCulture)) is >= 1 and <= 65535;
    }
}
