using System.Collections.Concurrent;
using System.Net.Sockets;
using Hutch.Daemon.Network.Dns;
using Hutch.Daemon.Network.Presets;
using Hutch.Daemon.Registry;
using Hutch.Linux;
using Hutch.Runtime;
using Hutch.Runtime.Network;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Network;

/// <summary>
/// Network egress (docs/network.md): a sandbox's policy, given at create and changed by PATCH, and
/// what enforces it. A sandbox whose policy lets nothing out keeps a namespace with loopback only, no
/// route and no rule. The first policy that lets anything out adds the capture in its namespace
/// (EgressPlumbing: every TCP connection redirected to the daemon's listeners there) and starts its
/// <see cref="SandboxEgress"/>; from then on only the policy in memory changes.
/// </summary>
public sealed class NetworkService : ISandboxObserver, ISandboxSetting, INetworkRefusals, IAsyncDisposable
{
    private readonly SandboxDirectory _directory;
    private readonly OciRuntime _runtime;
    private readonly IReadOnlyDictionary<string, System.Net.IPNetwork[]> _openNetworks;
    private readonly Lock _rangesLock = new();
    private (RefusedRanges Ranges, long ReadAt, int? Port)? _ranges;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, SandboxEgress> _egress = new();
    private readonly SemaphoreSlim _changing = new(1, 1);
    private readonly Func<string, CancellationToken, Task<System.Net.IPAddress[]>> _lookup;
    private readonly PackageRegistries _registries;

    public NetworkService(SandboxDirectory directory, OciRuntime runtime, HutchOptions options, ILogger log)
    {
        _directory = directory;
        _runtime = runtime;
        _openNetworks = OpenNetworks.Parse(options.EgressOpenNetworks);
        DaemonPort = Uri.TryCreate(options.Url, UriKind.Absolute, out var url) && url.Port > 0 ? url.Port : null;
        _log = log;
        // The operator's name overrides, before the host's resolver: for the sandboxes' DNS answers and
        // the proxy's connections alike, so both always agree.
        var hosts = options.EgressHostsFile is { } file ? new HostsFile(file) : HostsFile.Empty;
        foreach (var problem in hosts.Problems)
        {
            Log.EgressHostsFileProblem(log, options.EgressHostsFile!, problem);
        }
        _lookup = hosts.Before(System.Net.Dns.GetHostAddressesAsync);
        _registries = new PackageRegistries(options.EgressRegistryConfigRoot, log);
        _upstreamTrust = Interception.UpstreamTrust.Load(options.EgressCaFile);
    }

    private readonly Interception.UpstreamTrust _upstreamTrust;

    /// <summary>What the proxy asks to swap placeholders for values; set once by the engine, before any sandbox's egress starts.</summary>
    public Interception.IEgressSecrets? Secrets { get; set; }

    /// <summary>What each preset stands for on this host (read once, on first use).</summary>
    public async Task<PresetExpansion[]> PresetsAsync() => [await _registries.ExpandAsync().ConfigureAwait(false)];

    /// <summary>The port the daemon's API listens on, refused on every address (set once the daemon has bound it).</summary>
    public int? DaemonPort { get; set; }

    /// <summary>
    /// The always-refused ranges with the host's addresses as they are now: read again when two
    /// seconds old, so an address the host gains (a new interface, DHCP) is refused within that.
    /// </summary>
    public RefusedRanges Ranges()
    {
        lock (_rangesLock)
        {
            var now = Environment.TickCount64;
            if (_ranges is not { } r || now - r.ReadAt > 2000 || r.Port != DaemonPort)
            {
                _ranges = r = (new RefusedRanges(HostAddresses.Read(), DaemonPort), now, DaemonPort);
            }
            return r.Ranges;
        }
    }

    /// <summary>How long a connection to an upstream may take before it is given up.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public void Validate(CreateSandboxRequest request) => Parse(request.Network);

    public async Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        var policy = Parse(request.Network);
        return policy.Mode == NetworkModes.None ? record : record with { Network = await SetAsync(record.Id, policy, cancellationToken).ConfigureAwait(false) };
    }

    public Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken) =>
        request.Network is null ? Task.CompletedTask : SetAsync(record.Id, Parse(request.Network), cancellationToken);

    public void Adopted(SandboxRecord record)
    {
        if (record.Network is not { } network || Parse(network).Mode == NetworkModes.None)
        {
            return;
        }
        // The capture is still in the sandbox's namespace (it lives as long as the namespace); what a
        // restart lost are the listeners. Until they are back, a connection is refused by the kernel
        // (no listener): nothing leaves meanwhile.
        _ = Task.Run(async () =>
        {
            try
            {
                await SetAsync(record.Id, Parse(network), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Log.EgressRestoreFailed(_log, record.Id, e);
            }
        });
    }

    public async Task DeletingAsync(string sandboxId)
    {
        if (_egress.TryRemove(sandboxId, out var egress))
        {
            await egress.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The sandbox's network events from a cursor (a byte offset); with follow, those to come too.</summary>
    public IAsyncEnumerable<NetworkEvent> ReadEventsAsync(string idOrName, long cursor, bool follow, CancellationToken cancellationToken)
    {
        var record = _directory.Find(idOrName);
        if (_egress.TryGetValue(record.Id, out var egress))
        {
            return egress.Events.ReadAsync(cursor, follow, cancellationToken);
        }
        // No capture: nothing was ever relayed, or it was before a restart; read what the file holds.
        return NetworkEventLog.ReadFrom(LogPath(record.Id), cursor).ToAsyncEnumerable();
    }

    public SandboxInfo Describe(SandboxInfo info) =>
        _egress.TryGetValue(info.Id, out var egress) ? info with { NetworkUsage = egress.Usage() } : info;

    // Only a sandbox's egress records events: a sandbox without one (the default) costs these two calls a
    // dictionary lookup each, no file access.
    public long Mark(string sandboxId) => _egress.TryGetValue(sandboxId, out var egress) ? egress.Events.Length : -1;

    public IReadOnlyList<NetworkEvent>? Since(string sandboxId, long mark, int max)
    {
        if (!_egress.TryGetValue(sandboxId, out var egress))
        {
            return null;
        }
        try
        {
            // No egress at the mark: it began while the command ran (a PATCH), so from where its log stood then.
            var from = mark >= 0 ? mark : egress.LogStart;
            var refused = NetworkEventLog.ReadFrom(egress.Events.Path, from).Where(e => e.Outcome != NetworkOutcomes.Allowed).Take(max).ToList();
            return refused.Count == 0 ? null : refused;
        }
        catch (HutchException e) when (e.Code == ErrorCodes.InvalidCursor)
        {
            return null; // the log went with its sandbox meanwhile
        }
    }

    public async Task<IReadOnlyList<NetworkEvent>> SettledSinceAsync(string sandboxId, long mark, TimeSpan settle, CancellationToken cancellationToken)
    {
        if (!_egress.TryGetValue(sandboxId, out var egress))
        {
            return [];
        }
        // A program that has ended closed its sockets, but the relay records a connection only once it
        // has passed on the close and the upstream's: polled, as a connection has no completion to await.
        var deadline = Environment.TickCount64 + (long)settle.TotalMilliseconds;
        while (egress.OpenConnections > 0 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            return NetworkEventLog.ReadFrom(egress.Events.Path, mark >= 0 ? mark : egress.LogStart).ToList();
        }
        catch (HutchException e) when (e.Code == ErrorCodes.InvalidCursor)
        {
            return []; // the log went with its sandbox meanwhile
        }
    }

    private static ParsedNetworkPolicy Parse(NetworkPolicy? network) => NetworkPolicyParser.Parse(network);

    /// <summary>The entries the policy's preset stands for here; refused when it stands for nothing (the policy would let out less than asked).</summary>
    private async Task<IReadOnlyList<PolicyEntry>?> PresetEntriesAsync(ParsedNetworkPolicy policy)
    {
        if (policy.Preset is null)
        {
            return null;
        }
        var expansion = await _registries.ExpandAsync().ConfigureAwait(false);
        if (expansion.Entries.Count == 0)
        {
            throw new HutchException(ErrorCodes.InvalidNetworkPolicy,
                $"Invalid network policy: network.preset '{policy.Preset}' stands for no host on this daemon's host ({string.Join("; ", expansion.Notes)}); list the hosts in network.allow instead.");
        }
        return expansion.Entries;
    }

    private string LogPath(string id) => Path.Join(_directory.Paths.SandboxDir(id), "network.log");

    /// <returns>The policy as the registry now keeps it (null for none).</returns>
    private async Task<NetworkPolicy?> SetAsync(string id, ParsedNetworkPolicy policy, CancellationToken cancellationToken)
    {
        var matcher = new PolicyMatcher(policy, _openNetworks, await PresetEntriesAsync(policy).ConfigureAwait(false));
        await _changing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_egress.TryGetValue(id, out var egress))
            {
                egress.Swap(matcher);
            }
            else if (policy.Mode != NetworkModes.None)
            {
                egress = await StartAsync(id, matcher, cancellationToken).ConfigureAwait(false);
                _egress[id] = egress;
                egress.Start();
            }
            var kept = policy.Mode == NetworkModes.None ? null : policy.ToApi();
            _directory.Registry.SetNetwork(id, kept);
            return kept;
        }
        finally
        {
            _changing.Release();
        }
    }

    private async Task<SandboxEgress> StartAsync(string id, PolicyMatcher matcher, CancellationToken cancellationToken)
    {
        using var init = SandboxInit.Pin(_runtime, id);
        Socket v4, v6;
        (Socket V4, Socket V6) dns;
        try
        {
            await EgressPlumbing.ApplyAsync(init, cancellationToken).ConfigureAwait(false);
            (v4, v6) = await EgressPlumbing.ListenAsync(init).ConfigureAwait(false);
            dns = await EgressPlumbing.ListenDnsAsync(init).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
        {
            throw new HutchException(ErrorCodes.EgressUnavailable,
                $"The sandbox {id}'s network capture could not be set up ({e.Message}); nothing leaves it. Run `hutch doctor` to check the host.", e);
        }
        var egress = new SandboxEgress(id, matcher, Ranges, new NetworkEventLog(LogPath(id)), ConnectTimeout, [v4, v6], _log)
        {
            Secrets = Secrets,
            UpstreamTrust = _upstreamTrust,
            Redaction = () => _directory.Secrets.RedactionOf(id),
        };
        egress.Dns = new SandboxDns(Path.Join(_directory.Paths.SandboxDir(id), "egress-names"), () => egress.Policy, Ranges, _lookup,
            egress.Record, dns, _log, id);
        return egress;
    }

    /// <summary>Closes every sandbox's listeners and connections (the daemon stops; the sandboxes run on).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var id in _egress.Keys)
        {
            await DeletingAsync(id).ConfigureAwait(false);
        }
    }
}
