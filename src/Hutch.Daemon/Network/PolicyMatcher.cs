using System.Net;

namespace Hutch.Daemon.Network;

/// <summary>What the policy says about one destination, with the entry that decided and why.</summary>
/// <param name="Code">Null when allowed; otherwise one of <see cref="EgressCodes"/>.</param>
/// <param name="Rule">The entry that matched (its normalized text), <c>public</c>, or null when nothing matched.</param>
public sealed record EgressDecision(bool Allowed, string? Code, string? Rule, string Message);

/// <summary>
/// Decides a destination (a name and/or a literal address, and a port) against one sandbox's
/// policy; section 3 step 2 of docs/design/0009-egress.md. Immutable, so a PATCH swaps the whole
/// object. It knows nothing of the always-refused ranges: <see cref="RefusedRanges"/> judges the
/// address really connected to, after this has allowed the destination.
/// </summary>
public sealed class PolicyMatcher
{
    private readonly ParsedNetworkPolicy _policy;
    private readonly IReadOnlyDictionary<string, IPNetwork[]> _openNetworks;
    private readonly IReadOnlyList<PolicyEntry> _allow;

    /// <param name="openNetworks">The operator's HUTCH_EGRESS_OPEN_NETWORKS by name; a <c>net:</c> entry naming none of them matches nothing.</param>
    /// <param name="preset">The entries the policy's preset stands for on this host, allowed after its own entries.</param>
    public PolicyMatcher(ParsedNetworkPolicy policy, IReadOnlyDictionary<string, IPNetwork[]>? openNetworks = null, IReadOnlyList<PolicyEntry>? preset = null)
    {
        _policy = policy;
        _allow = preset is { Count: > 0 } ? [.. policy.Allow, .. preset] : policy.Allow;
        _openNetworks = openNetworks ?? new Dictionary<string, IPNetwork[]>();
        Opened = [.. policy.Allow.Where(e => e.Kind == PolicyEntryKind.OpenNetwork)
            .SelectMany(e => _openNetworks.GetValueOrDefault(e.Name!, []))];
    }

    public string Mode => _policy.Mode;

    /// <summary>The operator's networks this policy opens: the only private ranges <see cref="RefusedRanges"/> may let through.</summary>
    public IReadOnlyList<IPNetwork> Opened { get; }

    /// <param name="host">The name asked for (normalized by <see cref="HostName"/>), or null for a literal address.</param>
    /// <param name="address">
    /// The literal address asked for; or, with <paramref name="host"/>, the address the name resolved
    /// to, which deny entries are checked on too (allow entries then match the name only).
    /// </param>
    public EgressDecision Decide(string? host, IPAddress? address, int port)
    {
        if (host is null && address is null)
        {
            throw new ArgumentException("a destination needs a host name or an address");
        }
        address = address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
        var what = host ?? (address!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString());
        var target = $"{what}:{port}";
        if (_policy.Mode == NetworkModes.None)
        {
            return Refuse(EgressCodes.PolicyNone, null, $"{target} refused: this sandbox's network policy is 'none' (set network.mode to 'allowlist' or 'public')");
        }
        // Deny entries win over everything, whatever the port asked for when they name no port.
        foreach (var deny in _policy.Deny)
        {
            if (deny.CoversPort(port) && host is not null && deny.MatchesName(host))
            {
                return Refuse(EgressCodes.DeniedHost, deny.Text, $"{target} refused: denied by network.deny entry '{deny.Text}'");
            }
            if (deny.CoversPort(port) && address is not null && deny.MatchesAddress(address))
            {
                return Refuse(EgressCodes.DeniedAddress, deny.Text, $"{target} refused: denied by network.deny entry '{deny.Text}'");
            }
        }
        if (_policy.Mode == NetworkModes.Public)
        {
            return new EgressDecision(true, null, NetworkModes.Public, $"{target} allowed: mode 'public'");
        }
        PolicyEntry? otherPort = null;
        foreach (var allow in _allow)
        {
            var matches = host is not null ? allow.MatchesName(host) : MatchesAddress(allow, address!);
            if (matches && allow.CoversPort(port))
            {
                return new EgressDecision(true, null, allow.Text, $"{target} allowed by network.allow entry '{allow.Text}'");
            }
            otherPort ??= matches ? allow : null;
        }
        if (otherPort is not null)
        {
            return Refuse(EgressCodes.Port, otherPort.Text, $"{target} refused: '{otherPort.Text}' allows {what} on other ports only (add {target} to network.allow)");
        }
        return host is not null
            ? Refuse(EgressCodes.DeniedHost, null, $"{target} refused: {host} is not in this sandbox's allowlist (add {target} to network.allow)")
            : Refuse(EgressCodes.DeniedAddress, null, $"{target} refused: a literal address passes only with an IP, CIDR or net: entry (add {target} to network.allow)");
    }

    private bool MatchesAddress(PolicyEntry entry, IPAddress address) => entry.Kind == PolicyEntryKind.OpenNetwork
        ? _openNetworks.GetValueOrDefault(entry.Name!, []).Any(n => n.Contains(address))
        : entry.MatchesAddress(address);

    private static EgressDecision Refuse(string code, string? rule, string message) => new(false, code, rule, message);
}
