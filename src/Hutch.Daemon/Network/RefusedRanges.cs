using System.Net;
using System.Net.Sockets;

namespace Hutch.Daemon.Network;

/// <summary>Why an address may not be connected to: always <see cref="EgressCodes.PrivateAddress"/>.</summary>
/// <param name="Range">The range (or "host address", "daemon port") that refused it.</param>
public sealed record RangeRefusal(string Range, string Message)
{
    public string Code => EgressCodes.PrivateAddress;
}

/// <summary>
/// The always-refused classifier of docs/design/0009-egress.md (section 3), judged on the
/// <see cref="IPAddress"/> really passed to connect(), never on text: whatever spelling a program
/// used (<c>0x7f.1</c>, <c>[::ffff:127.0.0.1]</c>), what is checked is the parsed address.
/// A network the operator opened (net:NAME) lifts the private ranges inside it, except what no
/// setting may open: the host's own addresses, loopback, "this network", multicast, broadcast,
/// the metadata addresses, and the daemon's own port.
/// </summary>
public sealed class RefusedRanges(HostAddresses host, int? daemonPort)
{
    private static readonly (IPNetwork Range, string Why)[] Always =
    [
        (Net("0.0.0.0/8"), "'this network'"), (Net("10.0.0.0/8"), "private (RFC 1918)"), (Net("100.64.0.0/10"), "carrier-grade NAT"),
        (Net("127.0.0.0/8"), "loopback"), (Net("169.254.0.0/16"), "link-local, where cloud metadata lives"),
        (Net("172.16.0.0/12"), "private (RFC 1918)"), (Net("192.0.0.0/24"), "IETF protocol assignments"),
        (Net("192.0.2.0/24"), "documentation (TEST-NET-1)"), (Net("192.88.99.0/24"), "6to4 relay anycast"),
        (Net("192.168.0.0/16"), "private (RFC 1918)"), (Net("198.18.0.0/15"), "benchmarking, and the sandboxes' own synthetic addresses"),
        (Net("198.51.100.0/24"), "documentation (TEST-NET-2)"), (Net("203.0.113.0/24"), "documentation (TEST-NET-3)"),
        (Net("224.0.0.0/4"), "multicast"), (Net("240.0.0.0/4"), "reserved and broadcast"),
        (Net("::/96"), "unspecified, loopback or IPv4-compatible"), (Net("64:ff9b:1::/48"), "local-use NAT64"),
        (Net("100::/64"), "discard-only"), (Net("2001::/23"), "IETF protocol assignments (Teredo, ORCHID, benchmarking)"),
        (Net("2001:db8::/32"), "documentation"), (Net("2002::/16"), "6to4, which tunnels to an IPv4 address"),
        (Net("3fff::/20"), "documentation"), (Net("5f00::/16"), "SRv6 segment identifiers"), (Net("fc00::/7"), "unique local"),
        (Net("fe80::/10"), "link-local"), (Net("fec0::/10"), "site-local"), (Net("ff00::/8"), "multicast"),
    ];

    /// <summary>Ranges no net: entry opens: nothing there is a remote service a sandbox should reach.</summary>
    private static readonly IPNetwork[] NeverOpenable =
    [
        Net("0.0.0.0/8"), Net("127.0.0.0/8"), Net("224.0.0.0/4"), Net("255.255.255.255/32"), Net("169.254.169.254/32"),
        Net("169.254.170.2/32"), Net("::/128"), Net("::1/128"), Net("ff00::/8"), Net("fd00:ec2::254/128"),
    ];

    private static readonly IPNetwork Nat64 = Net("64:ff9b::/96");

    /// <summary>
    /// The address to connect to: IPv4-mapped and IPv4-translated IPv6 become their IPv4 (a socket
    /// would reach that IPv4 anyway); everything else as is, without a scope id.
    /// </summary>
    public static IPAddress Effective(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && (address.IsIPv4MappedToIPv6 || IsTranslated(address)))
        {
            return new IPAddress(address.GetAddressBytes().AsSpan(12, 4));
        }
        return address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes()) : address;
    }

    /// <summary>Null when <paramref name="address"/>:<paramref name="port"/> may be connected to; otherwise why not.</summary>
    /// <param name="opened">The networks the sandbox's policy opens (<see cref="PolicyMatcher.Opened"/>).</param>
    public RangeRefusal? Check(IPAddress address, int port, IReadOnlyList<IPNetwork>? opened = null)
    {
        var effective = Effective(address);
        var shown = effective.AddressFamily == address.AddressFamily ? $"{address}" : $"{address} (the IPv4 address {effective})";
        if (host.Contains(effective))
        {
            return new RangeRefusal("host address", $"{shown} is one of the host's own addresses, which no policy opens");
        }
        var never = Find(NeverOpenable, effective);
        if (opened is not null && Find(opened, effective) is not null)
        {
            if (never is { } fixedRange)
            {
                return new RangeRefusal(fixedRange.ToString(), $"{shown} is in {fixedRange}, which no policy opens");
            }
            return port == daemonPort
                ? new RangeRefusal("daemon port", $"{shown}:{port} is the Hutch daemon's port, which no policy opens")
                : null;
        }
        if (Nat64.Contains(effective))
        {
            // A NAT64 gateway forwards to the embedded IPv4: judge that one.
            var inner = new IPAddress(effective.GetAddressBytes().AsSpan(12, 4));
            return Check(inner, port, opened) is { } refusal
                ? refusal with { Message = $"{effective} is NAT64 for {inner}: {refusal.Message}" }
                : null;
        }
        foreach (var (range, why) in Always)
        {
            if (range.Contains(effective))
            {
                return new RangeRefusal(range.ToString(), $"{shown} is in {range} ({why}); ask the operator to open the network if it is needed");
            }
        }
        return null;
    }

    /// <summary>::ffff:0:a.b.c.d (RFC 2765's IPv4-translated form): eight zero bytes, ffff, two zero bytes.</summary>
    private static bool IsTranslated(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return b.AsSpan(0, 8).IndexOfAnyExcept((byte)0) < 0 && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0;
    }

    private static IPNetwork? Find(IEnumerable<IPNetwork> ranges, IPAddress address)
    {
        foreach (var range in ranges)
        {
            if (range.Contains(address))
            {
                return range;
            }
        }
        return null;
    }

    private static IPNetwork Net(string cidr) => IPNetwork.Parse(cidr);
}
