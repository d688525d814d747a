using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Network.Dns;

/// <summary>
/// One sandbox's name resolution: its synthetic names (kept in a file beside its network log, so a
/// restarted daemon gives the same addresses), the resolver that judges each query by the sandbox's
/// policy in force, the rate limit shared by UDP and TCP, and the two UDP listeners in its netns.
/// Refused and failed lookups are recorded as network events (via <c>dns</c>); answered ones are
/// not: the connection that follows is.
/// </summary>
public sealed class SandboxDns : IAsyncDisposable
{
    private readonly DnsListener[] _listeners;
    private readonly Action<NetworkEvent> _record;
    private readonly Lock _coalesce = new();
    private readonly Dictionary<string, long> _lastRecorded = new(StringComparer.Ordinal);

    public SandboxDns(string namesPath, Func<PolicyMatcher> policy, Func<RefusedRanges> ranges, Func<string, CancellationToken, Task<IPAddress[]>> lookup,
        Action<NetworkEvent> record, (Socket V4, Socket V6) sockets, ILogger log, string sandboxId)
    {
        Names = SyntheticNames.Open(namesPath);
        Lookup = lookup;
        Resolver = new DnsResolver(policy, ranges, Names, lookup);
        _record = record;
        _listeners =
        [
            new DnsListener(sockets.V4, Resolver, Limit, Record, e => Log.EgressDnsFailed(log, sandboxId, e)),
            new DnsListener(sockets.V6, Resolver, Limit, Record, e => Log.EgressDnsFailed(log, sandboxId, e)),
        ];
    }

    public SyntheticNames Names { get; }

    public DnsResolver Resolver { get; }

    public DnsRateLimit Limit { get; } = new();

    /// <summary>The host's resolution of a name (hosts-file overrides first): what the answer and the proxy both use.</summary>
    public Func<string, CancellationToken, Task<IPAddress[]>> Lookup { get; }

    /// <summary>Records a lookup that was not answered; the same name and outcome at most once a second.</summary>
    public void Record(DnsDecision decision)
    {
        if (decision.Outcome is not (DnsOutcomes.Refused or DnsOutcomes.Failed))
        {
            return; // answered (the connection that follows is recorded), no data, no such name, junk
        }
        var key = $"{decision.Name}|{decision.Outcome}";
        var now = Environment.TickCount64;
        lock (_coalesce)
        {
            if (_lastRecorded.TryGetValue(key, out var last) && now - last < 1000)
            {
                return;
            }
            if (_lastRecorded.Count > 4096)
            {
                _lastRecorded.Clear();
            }
            _lastRecorded[key] = now;
        }
        var outcome = decision.Outcome == DnsOutcomes.Refused ? NetworkOutcomes.Refused : NetworkOutcomes.Failed;
        _record(new NetworkEvent(0, DateTimeOffset.UtcNow, outcome, "dns", "dns", decision.Name, null, 53, decision.Code, decision.Rule,
            decision.Message));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
        Names.Dispose();
    }
}
