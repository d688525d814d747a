using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hutch.Linux;

namespace Hutch.Daemon.Network;

/// <summary>
/// One connection a sandbox made, captured by its netns's redirect and accepted by the daemon:
/// where it was going (SO_ORIGINAL_DST), whether it may (policy, then the always-refused ranges on
/// the address really connected to), the upstream connection, the relay, and its event. A refusal
/// is a reset: a user-space decision cannot make connect() fail, and every refusal is recorded.
/// </summary>
internal sealed class EgressConnection(SandboxEgress sandbox, Socket client)
{
    private EgressRelay? _relay;
    private long _started;
    private string? _rule;
    private volatile string? _closedCode;
    private string? _closedMessage;

    /// <summary>Where the sandbox connected to; null until known.</summary>
    public IPEndPoint? Destination { get; private set; }

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
        if (Refusal() is { } refused)
        {
            Refuse(refused.Code, refused.Rule, refused.Message);
            return;
        }
        var destination = Destination!;
        var address = RefusedRanges.Effective(destination.Address);
        using var upstream = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var cleanEnd = false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(sandbox.ConnectTimeout);
            try
            {
                // The address checked, as an IPAddress: never a string a resolver could read otherwise.
                await upstream.ConnectAsync(new IPEndPoint(address, destination.Port), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                Fail(EgressCodes.ConnectTimeout, $"{Shown}: allowed, but the upstream did not answer within {sandbox.ConnectTimeout.TotalSeconds:0} s");
                return;
            }
            catch (SocketException e)
            {
                Fail(EgressCodes.ConnectFailed, $"{Shown}: allowed, but the upstream could not be reached ({e.SocketErrorCode})");
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

    private string Shown => Destination is null ? "a connection" : Destination.ToString();

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

    /// <summary>Why this connection may not go on, or null (and the rule that allows it).</summary>
    private (string Code, string? Rule, string Message)? Refusal()
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
        if (to.Port == 53)
        {
            return (EgressCodes.DnsDenied, null, $"DNS over TCP to {to} was refused: this sandbox has no name resolution yet; connect to addresses");
        }
        var decision = sandbox.Policy.Decide(null, to.Address, to.Port);
        if (!decision.Allowed)
        {
            return (decision.Code!, decision.Rule, decision.Message);
        }
        if (sandbox.Ranges.Check(to.Address, to.Port, sandbox.Policy.Opened) is { } range)
        {
            return (range.Code, range.Range, $"{Shown} refused: {range.Message}");
        }
        _rule = decision.Rule;
        return null;
    }

    private void Refuse(string code, string? rule, string message)
    {
        EgressRelay.Reset(client);
        Record(NetworkOutcomes.Refused, code, rule, message);
    }

    private void Fail(string code, string message) => Record(NetworkOutcomes.Failed, code, _rule, message);

    private void Record(string outcome, string? code, string? rule, string message)
    {
        var to = Destination;
        sandbox.Record(new NetworkEvent(0, DateTimeOffset.UtcNow, outcome, "transparent", "tcp", null,
            to is null ? null : RefusedRanges.Effective(to.Address).ToString(), to?.Port ?? 0, code, rule, message,
            _relay?.BytesOut ?? 0, _relay?.BytesIn ?? 0, (long)Stopwatch.GetElapsedTime(_started).TotalMilliseconds));
    }
}
