using System.Net;
using System.Net.Sockets;
using System.Text;
using Hutch.Linux;
using Hutch.Linux.Netlink;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Network;

/// <summary>
/// The kernel side of egress capture in a sandbox's network namespace (docs/design/0009-egress.md,
/// sections 1 and 2): the nftables table <c>inet hutch</c>, the sandbox's own addresses on <c>lo</c>
/// and default routes through <c>lo</c>, and the proxy's listeners. Every step runs on a short-lived
/// thread that entered the namespace (<see cref="NetworkNamespace.RunInAsync"/>). Order: rules,
/// addresses, routes, listeners. Each prefix of that order is closed: without routes a connect fails
/// with ENETUNREACH, without listeners with ECONNREFUSED, and with routes but no rules a packet loops
/// on <c>lo</c> and is dropped (no device leads anywhere).
/// </summary>
public static class EgressPlumbing
{
    /// <summary>The proxy's port: below 1024, so a sandbox (no CAP_NET_BIND_SERVICE) cannot bind it even while the daemon is down.</summary>
    public const int ProxyPort = 999;

    /// <summary>Backlog of each proxy listener.</summary>
    public const int ListenBacklog = 512;

    /// <summary>lo is interface 1 in every network namespace (LOOPBACK_IFINDEX, include/net/flow.h).</summary>
    private const int LoopbackIndex = 1;

    public static IPEndPoint ProxyV4 { get; } = new(IPAddress.Loopback, ProxyPort);

    public static IPEndPoint ProxyV6 { get; } = new(IPAddress.IPv6Loopback, ProxyPort);

    /// <summary>The DNS listeners' port: the ruleset sends UDP 53 to any address here (TCP 53 goes to the proxy).</summary>
    public const int DnsPort = 53;

    public static IPEndPoint DnsV4 { get; } = new(IPAddress.Loopback, DnsPort);

    public static IPEndPoint DnsV6 { get; } = new(IPAddress.IPv6Loopback, DnsPort);

    /// <summary>The sandbox's own IPv4 address on lo (198.18.0.0/15, benchmarking): glibc's AI_ADDRCONFIG ignores 127.0.0.1, and a route's source needs it.</summary>
    public static IPAddress SandboxV4 { get; } = IPAddress.Parse("198.18.0.1");

    /// <summary>The sandbox's own IPv6 address on lo (a ULA, "hutch" in its global id).</summary>
    public static IPAddress SandboxV6 { get; } = IPAddress.Parse("fd68:7574:6368::1");

    /// <summary>
    /// Loads the nft table <c>inet hutch</c> (atomic replace), adds the two lo addresses and the two
    /// default routes (<c>dev lo src …</c>), in that order, in the network namespace of
    /// <paramref name="process"/> (a pidfd). Idempotent: a second call, or one after a daemon restart,
    /// leaves one table, one address of each family and one default route of each.
    /// Once started it runs to its end: <paramref name="cancellationToken"/> is checked before only,
    /// so a caller never sees "cancelled" for plumbing that was in fact applied.
    /// </summary>
    /// <exception cref="IOException">nft is missing or refused the ruleset (its message is included).</exception>
    /// <exception cref="Hutch.Linux.Interop.LinuxException">A netlink request failed, or the process is gone (ESRCH).</exception>
    public static Task ApplyAsync(SafeFileHandle process, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var nft = NftPath();
        return NetworkNamespace.RunInAsync(process, () =>
        {
            LoadRuleset(nft);
            using var netlink = RouteNetlink.Open();
            // False means "already there" (EEXIST): that is what makes a second call harmless.
            netlink.AddAddress(LoopbackIndex, SandboxV4, 32);
            netlink.AddAddress(LoopbackIndex, SandboxV6, 128);
            netlink.AddDefaultRoute(LoopbackIndex, SandboxV4);
            netlink.AddDefaultRoute(LoopbackIndex, SandboxV6);
            return true;
        });
    }

    /// <summary>True when the table, both addresses and both default routes are there (what adoption checks before re-opening the listeners).</summary>
    public static Task<bool> IsAppliedAsync(SafeFileHandle process, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var nft = NftPath();
        return NetworkNamespace.RunInAsync(process, () =>
        {
            using var netlink = RouteNetlink.Open();
            return HasAddress(netlink, SandboxV4, 32) && HasAddress(netlink, SandboxV6, 128)
                && HasDefaultRoute(netlink, SandboxV4) && HasDefaultRoute(netlink, SandboxV6)
                && ShortCommand.Run(nft, [nft, "list", "table", EgressRuleset.Family, EgressRuleset.Table], []).Status.ExitCode == 0;
        });
    }

    /// <summary>
    /// Two TCP sockets bound to <see cref="ProxyV4"/> and <see cref="ProxyV6"/> and listening, close-on-exec,
    /// created inside the sandbox's network namespace (they stay there; accept them from any thread). The caller owns them.
    /// </summary>
    public static Task<(Socket V4, Socket V6)> ListenAsync(SafeFileHandle process) =>
        NetworkNamespace.RunInAsync(process, () => Pair(ProxyV4, ProxyV6, SocketType.Stream));

    /// <summary>
    /// Two UDP sockets bound to <see cref="DnsV4"/> and <see cref="DnsV6"/>, close-on-exec, created
    /// inside the sandbox's network namespace, for the daemon's DNS listener. Port 53 is below 1024,
    /// so the sandbox cannot bind it first, even while the daemon is down. The caller owns them.
    /// </summary>
    public static Task<(Socket V4, Socket V6)> ListenDnsAsync(SafeFileHandle process) =>
        NetworkNamespace.RunInAsync(process, () => Pair(DnsV4, DnsV6, SocketType.Dgram));

    /// <summary>Both families' sockets, or neither: the first is closed when the second fails.</summary>
    private static (Socket V4, Socket V6) Pair(IPEndPoint v4At, IPEndPoint v6At, SocketType type)
    {
        var v4 = Open(v4At, type);
        try
        {
            return (v4, Open(v6At, type));
        }
        catch
        {
            v4.Dispose();
            throw;
        }
    }

    /// <summary>A socket bound to <paramref name="at"/> (IPv6 only for an IPv6 address), listening when it is a stream.</summary>
    private static Socket Open(IPEndPoint at, SocketType type)
    {
        // .NET opens sockets with SOCK_CLOEXEC: nft and ip children never inherit them.
        var socket = new Socket(at.AddressFamily, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        try
        {
            if (at.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }
            if (type == SocketType.Stream)
            {
                // A restarted daemon rebinds while its predecessor's connections sit in TIME_WAIT.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }
            socket.Bind(at);
            if (type == SocketType.Stream)
            {
                socket.Listen(ListenBacklog);
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void LoadRuleset(string nft)
    {
        var (status, output) = ShortCommand.Run(nft, [nft, "-f", "-"], Encoding.UTF8.GetBytes(EgressRuleset.Text));
        if (status.ExitCode != 0)
        {
            throw new IOException($"nft could not load the egress rules (table {EgressRuleset.Family} {EgressRuleset.Table}) in the sandbox's network namespace " +
                $"({(status.Signal is { } s ? Processes.SignalName(s) : $"exit {status.ExitCode}")}): {(output.Length == 0 ? "no message" : output)}");
        }
    }

    private static bool HasAddress(RouteNetlink netlink, IPAddress address, int prefixLength) =>
        netlink.ListAddresses(address.AddressFamily).Any(a => a.InterfaceIndex == LoopbackIndex && a.Address.Equals(address) && a.PrefixLength == prefixLength);

    private static bool HasDefaultRoute(RouteNetlink netlink, IPAddress source) =>
        netlink.ListRoutes(source.AddressFamily).Any(r => r.DestinationLength == 0 && r.OutputInterface == LoopbackIndex
            && source.Equals(r.PreferredSource) && r.Type == RouteNetlink.RouteTypeUnicast);

    /// <summary>nft lives in /usr/sbin, which a daemon started without a login PATH may lack.</summary>
    private static string NftPath() =>
        Spawn.ResolveInPath("nft", $"{Environment.GetEnvironmentVariable("PATH")}:/usr/sbin:/sbin")
        ?? throw new IOException("nft is not installed, and a sandbox's egress rules need it (Debian: apt-get install nftables)");
}
