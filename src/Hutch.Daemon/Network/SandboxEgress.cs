using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Hutch.Daemon.Network.Dns;
using Hutch.Protocol.Redaction;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Network;

/// <summary>
/// One sandbox's egress while its policy lets anything out: the proxy's two listeners in its netns
/// (accepted on the daemon's side), the policy in force (swapped whole by a PATCH), the connections
/// open now, and the event log.
/// </summary>
public sealed class SandboxEgress : IAsyncDisposable
{
    /// <summary>Open connections per sandbox: past this, new ones are refused (egress_limit) until some close.</summary>
    public const int MaxConnections = 512;

    private readonly Socket[] _listeners;
    private readonly IPEndPoint[] _listening;
    private readonly ConcurrentDictionary<EgressConnection, byte> _open = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private readonly ILogger _log;
    private readonly Func<RefusedRanges> _ranges;
    private PolicyMatcher _policy;
    private long _connections, _refused, _closedOut, _closedIn;

    public SandboxEgress(string id, PolicyMatcher policy, Func<RefusedRanges> ranges, NetworkEventLog events, TimeSpan connectTimeout, Socket[] listeners, ILogger log)
    {
        Id = id;
        _policy = policy;
        _ranges = ranges;
        Events = events;
        LogStart = events.Length;
        ConnectTimeout = connectTimeout;
        _listeners = listeners;
        _listening = [.. listeners.Select(l => (IPEndPoint)l.LocalEndPoint!)];
        _log = log;
    }

    public string Id { get; }

    public PolicyMatcher Policy => Volatile.Read(ref _policy);

    /// <summary>The always-refused ranges as they are now (the host's addresses change).</summary>
    public RefusedRanges Ranges => _ranges();

    public NetworkEventLog Events { get; }

    /// <summary>The log's length when this egress began (what a restarted daemon's log already held).</summary>
    public long LogStart { get; }

    public TimeSpan ConnectTimeout { get; }

    /// <summary>Placeholders to swap for secrets' values on connections to their hosts; null when no store is wired (set once, before <see cref="Start"/>).</summary>
    public Interception.IEgressSecrets? Secrets { get; set; }

    /// <summary>How an intercepted connection's upstream is verified.</summary>
    public Interception.UpstreamTrust UpstreamTrust { get; set; } = Interception.UpstreamTrust.Load(null);

    /// <summary>Its name resolution; set once, before <see cref="Start"/>.</summary>
    public SandboxDns? Dns { get; set; }

    /// <summary>Connections relayed now.</summary>
    public int OpenConnections => _open.Count;

    public bool IsListener(IPEndPoint endpoint) => _listening.Any(l => l.Equals(endpoint));

    public void Start()
    {
        foreach (var listener in _listeners)
        {
            _loops.Add(AcceptAsync(listener));
        }
    }

    /// <summary>
    /// A new policy: connections from now on are judged by it at once, and open ones it no longer
    /// allows are reset and recorded (judged on the address they connected to; nothing is resolved again).
    /// </summary>
    public void Swap(PolicyMatcher policy)
    {
        Volatile.Write(ref _policy, policy);
        foreach (var connection in _open.Keys)
        {
            if (connection.Upstream is not { } address)
            {
                continue;
            }
            var port = connection.Port;
            var decision = policy.Decide(connection.Host, address, port);
            var range = decision.Allowed ? Ranges.Check(address, port, policy.Opened) : null;
            if (!decision.Allowed || range is not null)
            {
                connection.Close(EgressCodes.PolicyChanged, $"{connection.Host ?? address.ToString()}:{port} closed: the sandbox's network policy changed and no longer allows it ({range?.Message ?? decision.Message})");
            }
        }
    }

    public void Record(NetworkEvent e)
    {
        if (e.Outcome == NetworkOutcomes.Refused)
        {
            Interlocked.Increment(ref _refused);
        }
        if (e.Via != "dns")
        {
            // A connection ended (relayed, refused by its first bytes, closed by a new policy): its bytes
            // move from the open ones' count to the closed total.
            Interlocked.Add(ref _closedOut, e.BytesOut);
            Interlocked.Add(ref _closedIn, e.BytesIn);
        }
        // Names and messages quote what the sandbox sent (a Host, a query name): a secret value it
        // holds never reaches the log on disk.
        if (Redaction() is { Count: > 0 } set)
        {
            e = e with
            {
                Host = e.Host is null ? null : Redactor.Redact(set, e.Host),
                Message = Redactor.Redact(set, e.Message),
            };
        }
        Events.Append(e);
    }

    /// <summary>The sandbox's redaction set as it is now (its secrets' values); set once, before <see cref="Start"/>.</summary>
    public Func<RedactionSet> Redaction { get; set; } = () => RedactionSet.Empty;

    /// <summary>What this sandbox's egress carried so far, open connections included.</summary>
    public NetworkUsage Usage()
    {
        long open = 0, openOut = 0, openIn = 0;
        foreach (var connection in _open.Keys)
        {
            open++;
            openOut += connection.BytesOut;
            openIn += connection.BytesIn;
        }
        return new NetworkUsage(Interlocked.Read(ref _connections), (int)open, Interlocked.Read(ref _refused),
            Interlocked.Read(ref _closedOut) + openOut, Interlocked.Read(ref _closedIn) + openIn);
    }

    /// <summary>A connection was made to an upstream.</summary>
    internal void Connected() => Interlocked.Increment(ref _connections);

    private async Task AcceptAsync(Socket listener)
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // EMFILE and the like: keep serving once it passes, never spin.
                Log.EgressAcceptFailed(_log, Id, e);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            _ = HandleAsync(client, stopping);
        }
    }

    private async Task HandleAsync(Socket client, CancellationToken stopping)
    {
        var connection = new EgressConnection(this, client);
        if (_open.Count >= MaxConnections)
        {
            EgressRelay.Reset(client);
            Record(new NetworkEvent(0, DateTimeOffset.UtcNow, NetworkOutcomes.Refused, "transparent", "tcp", null, null, 0, EgressCodes.Limit, null,
                $"a connection was refused: the sandbox has {MaxConnections} open already (close some first)"));
            return;
        }
        _open.TryAdd(connection, 0);
        try
        {
            await connection.RunAsync(stopping).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.EgressConnectionFailed(_log, Id, e);
        }
        finally
        {
            _open.TryRemove(connection, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }
        foreach (var connection in _open.Keys)
        {
            connection.Close(EgressCodes.PolicyNone, "closed: the sandbox is deleted, or the daemon stops");
        }
        await Task.WhenAll(_loops).ConfigureAwait(false);
        if (Dns is { } dns)
        {
            await dns.DisposeAsync().ConfigureAwait(false); // before the log closes: no decision after it
        }
        Events.Dispose();
    }
}
