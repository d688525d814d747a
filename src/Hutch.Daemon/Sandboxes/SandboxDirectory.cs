using System.Collections.Concurrent;
using Hutch.Daemon.Registry;
using Hutch.Runtime.AgentLink;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// Where every feature finds a sandbox: its registry row ("find it or 404") and, for what needs its
/// processes, its live control channel ("find it live or 409"). It keeps the channels this engine
/// holds, connects them (at start, adoption or first use) and notices when one ends without a delete.
/// </summary>
public sealed class SandboxDirectory(SandboxRegistry registry, SandboxPaths paths, string owner, ILogger log, CancellationToken stopping)
{
    private static readonly TimeSpan AgentReadyTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, LiveSandbox> _live = new();

    /// <summary>Who this engine records as the owner of what it creates: "daemon", or "run:PID" for an in-process engine.</summary>
    public string Owner => owner;

    public SandboxRegistry Registry => registry;

    public SandboxPaths Paths => paths;

    /// <summary>The secrets of each sandbox: the engine sets its store's answer once, before any sandbox starts.</summary>
    public ISandboxSecrets Secrets { get; set; } = NoSandboxSecrets.Instance;

    /// <summary>Called when a pooled sandbox's channel ends: it was never anyone's, so it is removed, not shown as lost.</summary>
    public Func<SandboxRecord, Task>? PooledLost { get; set; }

    /// <summary>
    /// A sandbox by id or name that is not deleted (the warm pool's are never found, except by id
    /// inside <see cref="PoolWork"/>), or sandbox_expired when its TTL ended and it was deleted for
    /// that, else sandbox_not_found.
    /// </summary>
    public SandboxRecord Find(string idOrName)
    {
        var record = registry.Find(idOrName) ?? (InPoolWork.Value ? registry.FindPooled(idOrName) : null);
        return record is null || record.State == SandboxStates.Deleted ? throw Gone(idOrName) : record;
    }

    private static readonly AsyncLocal<bool> InPoolWork = new();

    /// <summary>
    /// Marks the work the daemon does on its own warm pool's sandboxes ahead of any claim (a
    /// template's start command, its probe, its supervision, and the same again when a restarted
    /// daemon adopts them): until the scope is disposed, <see cref="Find"/> also answers a pooled
    /// sandbox by its id, so the features that run commands and services work on it unchanged.
    /// It is an AsyncLocal: it flows into the tasks that work starts (a service's supervisor lives on
    /// in it, also after the claim) and never into an API request, which is not started from there,
    /// so a pooled sandbox stays invisible to every caller.
    /// </summary>
    public static IDisposable PoolWork()
    {
        var before = InPoolWork.Value;
        InPoolWork.Value = true;
        return new PoolWorkScope(before);
    }

    private sealed class PoolWorkScope(bool before) : IDisposable
    {
        public void Dispose() => InPoolWork.Value = before;
    }

    /// <summary>The error for a sandbox that is no more: sandbox_expired (410, with when) or sandbox_not_found.</summary>
    public HutchException Gone(string idOrName) =>
        registry.ExpiredAt(idOrName) is { } at ? Expired(idOrName, at) : HutchException.NotFound(idOrName);

    /// <summary>sandbox_expired: the sandbox's TTL ended at <paramref name="at"/> and it is deleted (or being deleted).</summary>
    public static HutchException Expired(string idOrName, DateTimeOffset at) =>
        new(ErrorCodes.SandboxExpired,
            $"The sandbox '{idOrName}' expired at {at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} (its TTL ended) and was deleted with its workspace. Create a new one; extend a TTL in time with PATCH /v1/sandboxes/{{id}} {{\"ttlSeconds\": N}}.");

    /// <summary>
    /// The connected sandbox for a command, or sandbox_not_running. A running sandbox this engine has
    /// not met yet (handed to the daemons by `hutch run --keep` while this daemon was already up) is
    /// adopted on the spot.
    /// </summary>
    public async Task<LiveSandbox> LiveAsync(string idOrName, CancellationToken cancellationToken)
    {
        var record = Find(idOrName);
        if (record.State == SandboxStates.Deleting)
        {
            // Its channel may still be open while the removal runs: nothing new goes in meanwhile.
            throw new HutchException(ErrorCodes.SandboxNotRunning, $"The sandbox {record.Id} is being deleted: it takes no new commands. Create a new one.");
        }
        if (_live.TryGetValue(record.Id, out var live) && live.Connection.IsOpen)
        {
            return live;
        }
        if (record.State == SandboxStates.Running && record.Owner == owner)
        {
            try
            {
                return await ConnectAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsAgentUnreachable(e))
            {
                registry.SetState(record.Id, SandboxStates.Lost);
                record = record with { State = SandboxStates.Lost };
            }
        }
        throw new HutchException(ErrorCodes.SandboxNotRunning,
            $"The sandbox {record.Id} is {record.State}: its processes are gone. Delete it and create a new one.");
    }

    /// <summary>Whether this engine holds an open channel to the sandbox.</summary>
    public bool IsLive(string sandboxId) => _live.TryGetValue(sandboxId, out var live) && live.Connection.IsOpen;

    /// <summary>Whether this engine holds the sandbox's channel at all (open or closing).</summary>
    public bool IsConnected(string sandboxId) => _live.ContainsKey(sandboxId);

    /// <summary>The sandboxes whose channels this engine holds.</summary>
    public IReadOnlyCollection<LiveSandbox> Connected => [.. _live.Values];

    /// <summary>
    /// The id of the running sandbox that <paramref name="idOrName"/> names, or the argument itself when
    /// none does; from memory, cheap enough for every request that a per-sandbox limit counts.
    /// </summary>
    public string LiveIdOf(string idOrName)
    {
        if (_live.ContainsKey(idOrName))
        {
            return idOrName;
        }
        foreach (var live in _live.Values)
        {
            if (live.Record.Name == idOrName && live.Record.State != SandboxStates.Pooled)
            {
                return live.Record.Id;
            }
        }
        return idOrName;
    }

    /// <summary>Connects to a running sandbox's agent and proves it answers; registers it as live.</summary>
    public async Task<LiveSandbox> ConnectAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AgentReadyTimeout);
        AgentConnection? connection = null;
        try
        {
            connection = await AgentConnection.ConnectAsync(paths.AgentSocket(record.Id), timeout.Token).ConfigureAwait(false);
            await connection.PingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            throw new TimeoutException($"the agent of sandbox {record.Id} did not answer within {AgentReadyTimeout.TotalSeconds} s; its log: {AgentLogTail(record.Id)}");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or AgentException)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            // What the init printed (runc's own error when it could not exec the agent) is the useful part.
            throw new IOException($"the agent of sandbox {record.Id} did not answer ({e.Message}); its log: {AgentLogTail(record.Id)}", e);
        }
        var live = new LiveSandbox(record, connection);
        _live[record.Id] = live;
        _ = WatchAsync(live);
        return live;
    }

    /// <summary>Closes the sandbox's channel as expected (a delete, or a hand-over to another daemon), if this engine holds it.</summary>
    public async Task DisconnectAsync(string sandboxId)
    {
        if (_live.TryRemove(sandboxId, out var live))
        {
            live.Deleting = true;
            await live.Connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The ways reaching a sandbox's agent fails when the agent is gone (adoption, first use, pool).</summary>
    public static bool IsAgentUnreachable(Exception e) =>
        e is IOException or System.Net.Sockets.SocketException or TimeoutException or AgentException;

    /// <summary>When a sandbox's control channel ends without a delete, its init is gone: mark it lost.</summary>
    private async Task WatchAsync(LiveSandbox live)
    {
        await live.Connection.Completion.ConfigureAwait(false);
        if (!live.Deleting && !stopping.IsCancellationRequested && _live.TryRemove(new(live.Record.Id, live)))
        {
            Log.Lost(log, live.Record.Id);
            if (live.Record.State == SandboxStates.Pooled && PooledLost is { } remove)
            {
                await remove(live.Record).ConfigureAwait(false);
                return;
            }
            registry.SetState(live.Record.Id, SandboxStates.Lost);
        }
    }

    private string AgentLogTail(string id)
    {
        try
        {
            var text = File.ReadAllText(paths.AgentLog(id)).Trim();
            return text.Length == 0 ? "(empty)" : text.Length > 2000 ? text[^2000..] : text;
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}
