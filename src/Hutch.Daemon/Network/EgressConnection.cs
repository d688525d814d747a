using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hutch.Daemon.Network.Dns;
using Hutch.Daemon.Network.Inspect;
using Hutch.Daemon.Network.Interception;
using Hutch.Linux;

namespace Hutch.Daemon.Network;

/// <summary>
/// One connection a sandbox made, accepted by the daemon on its netns's listener: where it was going
/// (SO_ORIGINAL_DST: a literal address, a synthetic one its DNS answer gave for a name, port 53 for
/// DNS over TCP; or the listener itself, for a program that honours HTTP_PROXY and says where in a
/// CONNECT or absolute-form request), whether it may (<see cref="DestinationCheck"/>), the upstream
/// connection, the relay (with the SNI/Host check for names), and its event. A captured connection
/// that is refused is reset (a user-space decision cannot make connect() fail); a proxy request gets
/// a 403 that says why. Every one is recorded.
/// </summary>
internal sealed class EgressConnection(SandboxEgress sandbox, Socket client)
{
    private EgressRelay? _relay;
    private TlsInterception? _interception;
    private long _started;
    private string? _rule;
    private ProxyRequest? _proxy;
    private bool _answered;
    private volatile bool _recorded;
    private volatile string? _closedCode;
    private string? _closedMessage;

    /// <summary>Where the sandbox connected to (for a name: its synthetic address; for a proxy request: the listener); null until known.</summary>
    public IPEndPoint? Destination { get; private set; }

    /// <summary>The port asked for: the original destination's, or a proxy request's.</summary>
    public int Port { get; private set; }

    /// <summary>The name asked for (behind a synthetic address, or in a proxy request); null for a literal address.</summary>
    public string? Host { get; private set; }

    /// <summary>Bytes relayed from the sandbox so far (until its event is recorded).</summary>
    public long BytesOut => _recorded ? 0 : _relay?.BytesOut ?? _interception?.BytesOut ?? 0;

    /// <summary>Bytes relayed to the sandbox so far (until its event is recorded).</summary>
    public long BytesIn => _recorded ? 0 : _relay?.BytesIn ?? _interception?.BytesIn ?? 0;

    /// <summary>The address really connected to, once chosen.</summary>
    public IPAddress? Upstream { get; private set; }

    /// <summary>Ends an allowed connection with a reset and records why (a PATCH that no longer allows it).</summary>
    public void Close(string code, string message)
    {
        _closedMessage = message;
        _closedCode = code;
        _relay?.Abort();
        _interception?.Abort();
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        _started = Stopwatch.GetTimestamp();
        Destination = OriginalDestination();
        Port = Destination?.Port ?? 0;
        if (Destination is { Port: 53 } && sandbox.Dns is { } dns)
        {
            // DNS over TCP (the redirect sends TCP 53 here): the same answers as over UDP.
            using (client)
            {
                await DnsListener.ServeTcpAsync(client, dns.Resolver, dns.Limit, dns.Record, stopping).ConfigureAwait(false);
            }
            return;
        }
        var early = ReadOnlyMemory<byte>.Empty;
        if (IsProxyRequest)
        {
            (_proxy, early, var bad) = await ProxyHead.ReadAsync(client, stopping).ConfigureAwait(false);
            if (_proxy is null)
            {
                await RefuseAsync(new EgressRefusal(EgressCodes.BadTarget, null, bad!)).ConfigureAwait(false);
                return;
            }
            (Host, Port) = (_proxy.Target.Host, _proxy.Target.Port);
        }
        var (allowed, refused) = await DecideAsync(stopping).ConfigureAwait(false);
        if (refused is not null)
        {
            await RefuseAsync(refused).ConfigureAwait(false);
            return;
        }
        (Upstream, _rule) = (allowed!.Upstream, allowed.Rule);
        await RelayAsync(early, stopping).ConfigureAwait(false);
    }

    private async Task RelayAsync(ReadOnlyMemory<byte> early, CancellationToken stopping)
    {
        using var upstream = new Socket(Upstream!.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var cleanEnd = false;
        try
        {
            if (await ConnectAsync(upstream, stopping).ConfigureAwait(false) is { } failure)
            {
                await ReplyAsync(ProxyReplies.Failed(failure.Code, failure.Message)).ConfigureAwait(false);
                Record(NetworkOutcomes.Failed, failure.Code, _rule, failure.Message);
                return;
            }
            client.NoDelay = true;
            sandbox.Connected();
            if (_proxy is { IsConnect: true })
            {
                await client.SendAsync(ProxyReplies.Established, SocketFlags.None, stopping).ConfigureAwait(false);
            }
            else if (_proxy is not null)
            {
                early = (byte[])[.. _proxy.Head, .. early.Span];
            }
            if (Host is not null && sandbox.Secrets?.For(sandbox.Id, Host, Port) is { } table)
            {
                // A secret's host: TLS is terminated here so its placeholders can become values.
                var hello = await TlsInterception.ReadHelloAsync(client, early, stopping).ConfigureAwait(false);
                if (hello.IsTls && (hello.ServerName is null || ClientCheck.SameHost(Host, hello.ServerName)))
                {
                    cleanEnd = await InterceptAsync(upstream, table, hello.Bytes, stopping).ConfigureAwait(false);
                    return;
                }
                // Plain HTTP, or another name in the SNI: relayed (and checked) as any connection, placeholders unchanged.
                early = hello.Bytes;
            }
            _relay = new EgressRelay(client, upstream, Host is null ? null : new ClientCheck(Host));
            cleanEnd = _closedCode is null && await _relay.RunAsync(early, stopping).ConfigureAwait(false);
            if (_relay.Refusal is { } fronting)
            {
                Record(NetworkOutcomes.Refused, EgressCodes.Fronting, _rule, $"{Shown} refused: {fronting}");
                return;
            }
            Record(_closedCode is null ? NetworkOutcomes.Allowed : NetworkOutcomes.Refused, _closedCode, _rule,
                _closedMessage ?? $"{Shown}: allowed by '{_rule}'");
        }
        catch (SocketException) when (_relay is null)
        {
            // The sandbox went away while its CONNECT was answered: the reset below is all there is to do.
        }
        finally
        {
            // Both sides ended with a FIN: close as cleanly; a refusal was answered and closed already.
            // Anything else ends with a reset, so the program never mistakes a cut connection for a complete one.
            if (cleanEnd || _answered || _relay?.Refusal is not null)
            {
                client.Dispose();
            }
            else
            {
                EgressRelay.Reset(client);
            }
        }
    }

    /// <summary>Runs an intercepted connection and records it; true when both ends closed cleanly.</summary>
    private async Task<bool> InterceptAsync(Socket upstream, SubstitutionTable table, byte[] hello, CancellationToken stopping)
    {
        _interception = new TlsInterception(client, upstream, Host!, table, sandbox.Secrets!.CertificateFor(sandbox.Id, Host!), sandbox.UpstreamTrust, Note);
        var clean = _closedCode is null && await _interception.RunAsync(hello, stopping).ConfigureAwait(false);
        var (substituted, masked) = _interception.Counts;
        if (_interception.Refusal is { } refusal)
        {
            _answered = true; // told inside its TLS, closed
            Record(NetworkOutcomes.Refused, refusal.Code, _rule, $"{Shown} refused: {refusal.Message}");
            return false;
        }
        Record(_closedCode is null ? NetworkOutcomes.Allowed : NetworkOutcomes.Refused, _closedCode, _rule,
            _closedMessage ?? $"{Shown}: allowed by '{_rule}'; TLS intercepted for secrets, {substituted} placeholder(s) replaced"
                + (masked > 0 ? $", {masked} value(s) masked in responses" : ""));
        return clean;
    }

    /// <summary>Connects to the address checked (an IPAddress, never a string a resolver could read otherwise); a failure to record, or null.</summary>
    private async Task<EgressRefusal?> ConnectAsync(Socket upstream, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(sandbox.ConnectTimeout);
        try
        {
            await upstream.ConnectAsync(new IPEndPoint(Upstream!, Port), timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return new EgressRefusal(EgressCodes.ConnectTimeout, _rule, $"{Shown}: allowed, but the upstream did not answer within {sandbox.ConnectTimeout.TotalSeconds:0} s");
        }
        catch (SocketException e)
        {
            return new EgressRefusal(EgressCodes.ConnectFailed, _rule, $"{Shown}: allowed, but the upstream could not be reached ({e.SocketErrorCode})");
        }
    }

    /// <summary>Made to the listener itself: a program that honours HTTP_PROXY, which can be answered in HTTP.</summary>
    private bool IsProxyRequest => Destination is { } to && sandbox.IsListener(to);

    private string Shown => Host is not null ? $"{Host}:{Port}"
        : _proxy is not null ? new IPEndPoint(_proxy.Target.Address!, Port).ToString()
        : Destination?.ToString() ?? "a connection";

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

    private Task<(EgressClearance?, EgressRefusal?)> DecideAsync(CancellationToken stopping)
    {
        if (_proxy is not null)
        {
            var target = _proxy.Target;
            return target.Host is { } name
                ? DestinationCheck.NameAsync(sandbox, name, Port, AddressFamily.InterNetwork, Shown, stopping)
                : Task.FromResult(DestinationCheck.Address(sandbox, target.Address!, Port, Shown));
        }
        if (Destination is not { } to)
        {
            return Refused(EgressCodes.BadTarget, "a connection with no original destination (not captured by the redirect) was refused");
        }
        if (SyntheticNames.IndexOf(to.Address) is null)
        {
            return Task.FromResult(DestinationCheck.Address(sandbox, to.Address, Port, Shown));
        }
        if (sandbox.Dns?.Names.NameOf(to.Address) is not { } synthetic)
        {
            return Refused(EgressCodes.BadTarget, $"{to} refused: no name of this sandbox has that address (connect by name, or to a real address)");
        }
        Host = synthetic;
        return DestinationCheck.NameAsync(sandbox, synthetic, Port, to.Address.AddressFamily, Shown, stopping);
    }

    private static Task<(EgressClearance?, EgressRefusal?)> Refused(string code, string message) =>
        Task.FromResult<(EgressClearance?, EgressRefusal?)>((null, new EgressRefusal(code, null, message)));

    /// <summary>A refusal: a proxy request is answered with a 403 (400 for a bad request) and closed; a captured connection is reset.</summary>
    private async Task RefuseAsync(EgressRefusal refusal)
    {
        Record(NetworkOutcomes.Refused, refusal.Code, refusal.Rule, refusal.Message);
        if (!IsProxyRequest)
        {
            EgressRelay.Reset(client);
            return;
        }
        await ReplyAsync(refusal.Code == EgressCodes.BadTarget
            ? ProxyReplies.BadRequest(refusal.Code, refusal.Message)
            : ProxyReplies.Forbidden(refusal.Code, refusal.Message)).ConfigureAwait(false);
        client.Dispose();
    }

    /// <summary>Tells a proxy client what happened (a captured connection has no one to tell).</summary>
    private async Task ReplyAsync(byte[] reply)
    {
        if (!IsProxyRequest)
        {
            return;
        }
        _answered = true;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.SendAsync(reply, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The program is gone or does not read: the event says what happened.
        }
    }

    /// <summary>
    /// Something about a request of an allowed connection, as it happens (a body whose placeholders
    /// were not replaced): an event of its own with a code, the connection's bytes left for its own event.
    /// </summary>
    private void Note(string code, string message) =>
        sandbox.Record(new NetworkEvent(0, DateTimeOffset.UtcNow, NetworkOutcomes.Allowed, IsProxyRequest ? "proxy" : "transparent", "tcp", Host,
            Upstream?.ToString(), Port, code, _rule, $"{Shown}: {message}"));

    private void Record(string outcome, string? code, string? rule, string message)
    {
        _recorded = true; // its bytes are in the event from here on, not in the open connections' count
        var address = Upstream ?? _proxy?.Target.Address ?? (Destination is { } to && !IsProxyRequest ? RefusedRanges.Effective(to.Address) : null);
        sandbox.Record(new NetworkEvent(0, DateTimeOffset.UtcNow, outcome, IsProxyRequest ? "proxy" : "transparent", "tcp", Host,
            address?.ToString(), Port, code, rule, message,
            _relay?.BytesOut ?? _interception?.BytesOut ?? 0, _relay?.BytesIn ?? _interception?.BytesIn ?? 0, (long)Stopwatch.GetElapsedTime(_started).TotalMilliseconds));
    }
}
