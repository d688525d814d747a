using System.Net;
using System.Net.Sockets;
using Hutch.Daemon.Network.Dns;

namespace Hutch.Daemon.Network;

/// <summary>Why a connection may not go on: its code, the entry that decided, and the message for the program and the event.</summary>
public sealed record EgressRefusal(string Code, string? Rule, string Message);

/// <summary>A destination allowed: the address to connect to (checked) and the entry that allowed it.</summary>
public sealed record EgressClearance(IPAddress Upstream, string? Rule);

/// <summary>
/// The decision for one destination of one sandbox, the same for a captured connection and a proxy
/// request: the policy, then the always-refused ranges on the address that will really be connected
/// to. A name is judged by name and port, resolved on the host (never by the sandbox), and each of
/// its addresses judged in turn, so what is checked is what is connected to.
/// </summary>
internal static class DestinationCheck
{
    /// <summary>A literal address: an IP, CIDR or net: entry (or public) must allow it.</summary>
    public static (EgressClearance? Allowed, EgressRefusal? Refused) Address(SandboxEgress sandbox, IPAddress address, int port, string shown)
    {
        var policy = sandbox.Policy;
        var decision = policy.Decide(null, address, port);
        if (!decision.Allowed)
        {
            return (null, new EgressRefusal(decision.Code!, decision.Rule, decision.Message));
        }
        if (sandbox.Ranges.Check(address, port, policy.Opened) is { } range)
        {
            return (null, new EgressRefusal(range.Code, range.Range, $"{shown} refused: {range.Message}"));
        }
        return (new EgressClearance(RefusedRanges.Effective(address), decision.Rule), null);
    }

    /// <param name="preferred">The address family to try first (the one the program asked in).</param>
    public static async Task<(EgressClearance? Allowed, EgressRefusal? Refused)> NameAsync(
        SandboxEgress sandbox, string name, int port, AddressFamily preferred, string shown, CancellationToken stopping)
    {
        var policy = sandbox.Policy;
        var byName = policy.Decide(name, null, port);
        if (!byName.Allowed)
        {
            return (null, new EgressRefusal(byName.Code!, byName.Rule, byName.Message));
        }
        if (sandbox.Dns is not { } dns)
        {
            return (null, new EgressRefusal(EgressCodes.ConnectFailed, byName.Rule, $"{shown}: allowed, but this sandbox has no name resolution"));
        }
        IPAddress[] addresses;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(DnsResolver.LookupTimeout);
            addresses = await dns.Lookup(name, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !stopping.IsCancellationRequested)
        {
            return (null, new EgressRefusal(EgressCodes.ConnectFailed, byName.Rule, $"{shown}: allowed, but {name} could not be resolved on the host now"));
        }
        var refusals = new List<string>();
        // The family the program asked for first, then the other: a name with only one still works.
        foreach (var address in addresses.OrderBy(a => a.AddressFamily == preferred ? 0 : 1))
        {
            var decision = policy.Decide(name, address, port);
            if (!decision.Allowed)
            {
                refusals.Add(decision.Message);
                continue;
            }
            if (sandbox.Ranges.Check(address, port, policy.Opened) is { } range)
            {
                refusals.Add(range.Message);
                continue;
            }
            return (new EgressClearance(RefusedRanges.Effective(address), decision.Rule), null);
        }
        return (null, new EgressRefusal(EgressCodes.PrivateAddress, byName.Rule,
            $"{shown} refused: {(refusals.Count == 0 ? $"{name} has no address now" : string.Join("; ", refusals.Take(3)))}"));
    }
}
