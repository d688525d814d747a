using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;

namespace Hutch.Daemon.Network;

/// <summary>
/// The host's own addresses, which no egress policy may open: a sandbox reaching them would reach
/// the daemon and every service bound on the host. Read from the kernel's own tables in /proc
/// (the local routes of /proc/net/fib_trie and /proc/net/if_inet6) as well as from .NET's
/// interface list, so an address missed by one is caught by the other. A snapshot: the slice that
/// starts the proxy keeps it current (docs/design/0009-egress.md: RTM_GETADDR plus a subscription).
/// </summary>
public sealed class HostAddresses
{
    private readonly HashSet<IPAddress> _addresses;

    public HostAddresses(IEnumerable<IPAddress> addresses) =>
        _addresses = [.. addresses.Select(WithoutScope)];

    public static readonly HostAddresses Empty = new([]);

    public IReadOnlyCollection<IPAddress> All => _addresses;

    /// <summary>Whether <paramref name="address"/> is one of the host's (a link-local address's scope id is ignored).</summary>
    public bool Contains(IPAddress address) => _addresses.Contains(WithoutScope(address));

    /// <summary>The addresses of the network namespace this process runs in (the daemon's: the host's).</summary>
    public static HostAddresses Read()
    {
        var found = new List<IPAddress>();
        found.AddRange(ParseFibTrie(ReadOrEmpty("/proc/net/fib_trie")));
        found.AddRange(ParseIfInet6(ReadOrEmpty("/proc/net/if_inet6")));
        try
        {
            found.AddRange(NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address));
        }
        catch (NetworkInformationException)
        {
            // /proc alone is enough: the interface list is the second opinion.
        }
        return new HostAddresses(found);
    }

    /// <summary>
    /// The IPv4 addresses the kernel delivers locally: in /proc/net/fib_trie, a leaf line
    /// <c>|-- 192.0.2.2</c> followed by <c>/32 host LOCAL</c>. (A <c>/8 host LOCAL</c> is the local
    /// route of a whole prefix, such as 127.0.0.0/8: loopback, refused as a range anyway.)
    /// </summary>
    public static IEnumerable<IPAddress> ParseFibTrie(string text)
    {
        IPAddress? leaf = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("|-- ", StringComparison.Ordinal))
            {
                leaf = IPAddress.TryParse(line[4..], out var a) ? a : null;
            }
            else if (leaf is not null && line.StartsWith("/32 ", StringComparison.Ordinal) && line.EndsWith(" LOCAL", StringComparison.Ordinal))
            {
                yield return leaf;
            }
        }
    }

    /// <summary>The IPv6 addresses of /proc/net/if_inet6: one line per address, its first field 32 hex digits.</summary>
    public static IEnumerable<IPAddress> ParseIfInet6(string text)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var hex = line.Split(' ', 2)[0];
            if (hex.Length != 32)
            {
                continue;
            }
            var bytes = new byte[16];
            var ok = true;
            for (var i = 0; i < 16 && ok; i++)
            {
                ok = byte.TryParse(hex.AsSpan(2 * i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]);
            }
            if (ok)
            {
                yield return new IPAddress(bytes);
            }
        }
    }

    private static IPAddress WithoutScope(IPAddress a) =>
        a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && a.ScopeId != 0 ? new IPAddress(a.GetAddressBytes()) : a;

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
