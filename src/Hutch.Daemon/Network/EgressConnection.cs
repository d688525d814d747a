using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hutch.Daemon.Network.Dns;
using Hutch.Linux;

namespace Hutch.Daemon.Network;

/// <summary>
/// One connection a sandbox made, captured by its netns's redirect and accepted by the daemon:
/// where it was going (SO_ORIGINAL_DST: a literal address, or a synthetic one its DNS answer gave
/// for a name, or port 53 for DNS over TCP), whether it may (policy, then the always-refused ranges
/// on the address really connected to), the upstream connection, the relay, and its event. A
/// refusal is a reset: a user-space decision cannot make connect() fail, and every one is recorded.
/// </summary>
internal sealed class EgressConnection(SandboxEgress sandbox, Socket client)
{
    private EgressRelay? _relay;
    private long _started;
    private string? _rule;
    private volatile string? _closedCode;
    private string? _closedMessage;

    /// <summary>Where the sandbox connected to (for a name: its synthetic address); null until known.</summary>
    public IPEndPoint? Destination { get; private set; }

    /// <summary>The name behind a synthetic destination; null for a literal address.</summary>
    public string? Host { get; private set; }

    /// <summary>The address really connected to, once chosen.</summary>
    public IPAddress? Upstream { get; private set; }

    /// <summary>Ends an allowed connection with a reset and records why (a PATCH that no longer allows it).</summary>
    public void Close(string code, string message)
    {
        _closedMessage = message;
        _closedCode = code;
        _relay?.Abort();
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        _started = Stopwatch.GetTimestamp();
        Destination = OriginalDestination();
        if (Destination is { Port: 53 } && sandbox.Dns is { } dns)
        {
            // DNS over TCP (the redirect sends TCP 53 here): the same answers as over UDP.
            using (client)
            {
                await DnsListener.ServeTcpAsync(client, dns.Resolver, dns.Limit, dns.Record, stopping).ConfigureAwait(false);
            }
            return;
        }
        if (await DecideAsync(stopping).ConfigureAwait(false) is { } refused)
        {
            EgressRelay.Reset(client);
            Record(NetworkOutcomes.Refused, refused.Code, refused.Rule, refused.Message);
            return;
        }
        var address = Upstream!;
        using var upstream = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var cleanEnd = false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(sandbox.ConnectTimeout);
            try
            {
                // The address checked, as an IPAddress: never a string a resolver could read otherwise.
                await upstream.ConnectAsync(new IPEndPoint(address, Destination!.Port), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                Record(NetworkOutcomes.Failed, EgressCodes.ConnectTimeout, _rule, $"{Shown}: allowed, but the upstream did not answer within {sandbox.ConnectTimeout.TotalSeconds:0} s");
                return;
            }
            catch (SocketException e)
            {
                Record(NetworkOutcomes.Failed, EgressCodes.ConnectFailed, _rule, $"{Shown}: allowed, but the upstream could not be reached ({e.SocketErrorCode})");
                return;
            }
            client.NoDelay = true;
            _relay = new EgressRelay(client, upstream);
            cleanEnd = _closedCode is null && await _relay.RunAsync(stopping).ConfigureAwait(false);
            Record(_closedCode is null ? NetworkOutcomes.Allowed : NetworkOutcomes.Refused, _closedCode, _rule,
                _closedMessage ?? $"{Shown}: allowed by '{_rule}'");
        }
        finally
        {
            // Both sides ended with a FIN: close as cleanly. Anything else ends with a reset, so the
            // program in the sandbox never mistakes a cut connection for a complete one.
            if (cleanEnd)
            {
                client.Dispose();
            }
            else
            {
                EgressRelay.Reset(client);
            }
        }
    }

    private string Shown => Destination is null ? "a connection" : Host is null ? Destination.ToString() : $"{Host}:{Destination.Port}";

    private IPEndPoint? OriginalDestination()
    {
        try
        {
            return NetworkNamespace.OriginalDestination(client);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Why this connection may not go on, or null with <see cref="Upstream"/> and the rule that allows it set.</summary>
    private async Task<(string Code, string? Rule, string Message)?> DecideAsync(CancellationToken stopping)
    {
        if (Destination is not { } to)
        {
            return (EgressCodes.BadTarget, null, "a connection with no original destination (not captured by the redirect) was refused");
        }
        if (sandbox.IsListener(to))
        {
            return (EgressCodes.BadTarget, null,
                $"a connection to the egress proxy itself ({to}) was refused: Hutch does not serve proxy requests (HTTP_PROXY) yet; connect to the destination directly");
        }
        if (SyntheticNames.IndexOf(to.Address) is not null)
        {
            return await DecideNameAsync(to, stopping).ConfigureAwait(false);
        }
        var policy = sandbox.Policy;
        var decision = policy.Decide(null, to.Address, to.Port);
        if (!decision.Allowed)
        {
            return (decision.Code!, decision.Rule, decision.Message);
        }
        if (sandbox.Ranges.Check(to.Address, to.Port, policy.Opened) is { } range)
        {
            return (range.Code, range.Range, $"{Shown} refused: {range.Message}");
        }
        _rule = decision.Rule;
        Upstream = RefusedRanges.Effective(to.Address);
        return null;
    }

    /// <summary>
    /// A synthetic address: the name it stands for, judged by name and port, then resolved on the host
    /// again (the same lookup the DNS answer used) and judged on each address it has now.
    /// </summary>
    private async Task<(string Code, string? Rule, string Message)?> DecideNameAsync(IPEndPoint to, CancellationToken stopping)
    {
        if (sandbox.Dns?.Names.NameOf(to.Address) is not { } name)
        {
            return (EgressCodes.BadTarget, null, $"{to} refused: no name of this sandbox has that address (connect by name, or to a real address)");
        }
        Host = name;
        var policy = sandbox.Policy;
        var byName = policy.Decide(name, null, to.Port);
        if (!byName.Allowed)
        {
            return (byName.Code!, byName.Rule, byName.Message);
        }
        IPAddress[] addresses;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(DnsResolver.LookupTimeout);
            addresses = await sandbox.Dns.Lookup(name, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !stopping.IsCancellationRequested)
        {
            return (EgressCodes.ConnectFailed, byName.Rule, $"{Shown}: allowed, but {name} could not be resolved on the host now");
        }
        var refusals = new List<string>();
        // The family the program asked for first, then the other: a name with only one still works.
        foreach (var address in addresses.OrderBy(a => a.AddressFamily == to.Address.AddressFamily ? 0 : 1))
        {
            var decision = policy.Decide(name, address, to.Port);
            if (!decision.Allowed)
            {
                refusals.Add(decision.Message);
                continue;
            }
            if (sandbox.Ranges.Check(address, to.Port, policy.Opened) is { } range)
            {
                refusals.Add(range.Message);
                continue;
            }
            _rule = decision.Rule;
            Upstream = RefusedRanges.Effective(address);
            return null;
        }
        return (EgressCodes.PrivateAddress, byName.Rule,
            $"{Shown} refused: {(refusals.Count == 0 ? $"{name} has no address now" : string.Join("; ", refusals.Take(3)))}");
    }

    private void Record(string outcome, string? code, string? rule, string message)
    {
        var address = Upstream ?? (Destination is { } to ? RefusedRanges.Effective(to.Address) : null);
        sandbox.Record(new NetworkEvent(0, DateTimeOffset.UtcNow, outcome, "transparent", "tcp", Host,
            address?.ToString(), Destination?.Port ?? 0, code, rule, message,
            _relay?.BytesOut ?? 0, _relay?.BytesIn ?? 0, (long)Stopwatch.GetElapsedTime(_started).TotalMilliseconds));
    }
}
