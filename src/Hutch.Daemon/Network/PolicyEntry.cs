using System.Net;

namespace Hutch.Daemon.Network;

public enum PolicyEntryKind
{
    /// <summary>Exactly this name.</summary>
    Host,
    /// <summary><c>*.example.org</c>: any name below example.org, at any depth, but not example.org itself.</summary>
    Glob,
    /// <summary>An IP address (as a /32 or /128) or a CIDR.</summary>
    Address,
    /// <summary><c>net:NAME</c>: a network the operator opened (HUTCH_EGRESS_OPEN_NETWORKS).</summary>
    OpenNetwork,
}

/// <summary>
/// One parsed allow or deny entry. <see cref="Text"/> is its normalized spelling, the "rule" that
/// decisions and events name. Without a port in the text it covers ports 1-65535.
/// </summary>
public sealed record PolicyEntry(string Text, PolicyEntryKind Kind, string? Name, IPNetwork? Network, int LowPort, int HighPort)
{
    public bool CoversPort(int port) => port >= LowPort && port <= HighPort;

    /// <summary>Whether the entry names <paramref name="host"/> (already normalized by <see cref="HostName"/>).</summary>
    public bool MatchesName(string host) => Kind switch
    {
        PolicyEntryKind.Host => host == Name,
        PolicyEntryKind.Glob => host.Length > Name!.Length + 1 && host.EndsWith(Name, StringComparison.Ordinal) && host[^(Name.Length + 1)] == '.',
        _ => false,
    };

    /// <summary>Whether the entry covers <paramref name="address"/> (IPv4-mapped IPv6 already unwrapped); net: entries are resolved by the matcher.</summary>
    public bool MatchesAddress(IPAddress address) => Kind == PolicyEntryKind.Address && Network!.Value.Contains(address);
}

/// <summary>A validated policy: what <see cref="NetworkPolicyParser"/> makes of a <see cref="NetworkPolicy"/>.</summary>
public sealed record ParsedNetworkPolicy(string Mode, IReadOnlyList<PolicyEntry> Allow, IReadOnlyList<PolicyEntry> Deny, string? Preset)
{
    public static readonly ParsedNetworkPolicy None = new(NetworkModes.None, [], [], null);

    /// <summary>The policy as the API shows and the registry keeps it: each entry in its normalized spelling.</summary>
    public NetworkPolicy ToApi() => new(Mode,
        Allow.Count > 0 ? [.. Allow.Select(e => e.Text)] : null,
        Deny.Count > 0 ? [.. Deny.Select(e => e.Text)] : null,
        Preset);
}
