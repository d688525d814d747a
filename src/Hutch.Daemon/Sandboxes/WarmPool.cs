using System.Collections.Concurrent;
using Hutch.Daemon.Registry;
using Hutch.Runtime.Oci;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// The warm pool: a few sandboxes started ahead of demand with the default limits and user, so a
/// create that asks for nothing special is a registry update (milliseconds) instead of a runtime
/// start (tens of milliseconds). What differs between sandboxes of one shape — name, env, cwd,
/// TTL — lives in the registry and in each exec, so a pooled sandbox can become anyone's. Pooled
/// sandboxes are invisible to the API, survive a daemon crash (the next daemon adopts them back
/// into its pool), and are deleted when a daemon stops cleanly.
/// </summary>
public sealed class WarmPool(int target, SandboxDirectory directory, SandboxRunner runner, SandboxStorage storage, HutchOptions options,
    TimeProvider time, ILogger log, CancellationToken stopping)
{
    private readonly ConcurrentQueue<LiveSandbox> _pool = new();
    private int _filling;

    /// <summary>Pooled sandboxes ready to be claimed now.</summary>
    public int Ready => _pool.Count;

    /// <summary>Whether a create asks for what a pooled sandbox already is.</summary>
    public bool Fits(CreateSandboxRequest request, string? hostWorkspace) =>
        target > 0 && hostWorkspace is null && request.User is null or "user"
        && RequestValidator.Limits(request.Limits, storage.HostLimits) == RequestValidator.Limits(null, storage.HostLimits);

    /// <summary>
    /// Makes a pooled sandbox the caller's (name, env, cwd and TTL in its row), or null when none is
    /// ready. A refused claim (name taken, limit reached) puts it back for the next caller.
    /// </summary>
    public SandboxRecord? TryClaim(string? name, Dictionary<string, string> env, Dictionary<string, string> labels, string cwd, DateTimeOffset now, long? ttl)
    {
        if (Take() is not { } pooled)
        {
            return null;
        }
        SandboxRecord record;
        try
        {
            record = directory.Registry.Claim(pooled.Record, name, env, labels, cwd, now, ttl is { } t ? now.AddSeconds(t) : null, ttl is { } d ? TtlDeadline.After(d) : null, options.MaxSandboxes);
        }
        catch (HutchException)
        {
            _pool.Enqueue(pooled);
            throw;
        }
        pooled.Record = record;
        SandboxRunner.EnsureCwd(record, storage.WorkspaceOf(record));
        Refill();
        return record;
    }

    private LiveSandbox? Take()
    {
        while (_pool.TryDequeue(out var live))
        {
            if (live.Connection.IsOpen)
            {
                return live;
            }
        }
        return null;
    }

    /// <summary>Starts sandboxes in the background until the pool is full; one filler at a time.</summary>
    public void Refill()
    {
        if (target == 0 || stopping.IsCancellationRequested || Interlocked.Exchange(ref _filling, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            var failed = false;
            try
            {
                while (!stopping.IsCancellationRequested && _pool.Count < target)
                {
                    var record = directory.Registry.Insert(new SandboxRecord(
                        SandboxIds.New(), null, SandboxStates.Pooled, time.GetUtcNow(), null, "user", WorkspaceCwd.Root, [],
                        RequestValidator.Limits(null, storage.HostLimits), 0, null, directory.Owner), SandboxIds.FirstHostId, SandboxSpec.IdRangeSize, maxLive: null);
                    try
                    {
                        _pool.Enqueue(await runner.StartAsync(record, stopping).ConfigureAwait(false));
                    }
                    catch (Exception e)
                    {
                        // A broken runtime must not make the filler spin: stop until the next claim.
                        // (A start cut short by the engine stopping is no failure worth a warning.)
                        failed = true;
                        if (!stopping.IsCancellationRequested)
                        {
                            Log.PoolFillFailed(log, record.Id, e);
                        }
                        await runner.DestroyAsync(record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
                        return;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                // Engine stopping.
            }
            finally
            {
                Volatile.Write(ref _filling, 0);
            }
            if (!failed && _pool.Count < target)
            {
                Refill(); // a claim raced with the end of the loop
            }
        });
    }

    /// <summary>Re-adopts a previous daemon's pooled sandboxes into this pool (or deletes the dead ones).</summary>
    public async Task AdoptAsync(CancellationToken cancellationToken)
    {
        foreach (var record in directory.Registry.ListPooled())
        {
            try
            {
                var live = await directory.ConnectAsync(record, cancellationToken).ConfigureAwait(false);
                if (_pool.Count < target)
                {
                    _pool.Enqueue(live);
                    continue;
                }
            }
            catch (Exception e) when (SandboxDirectory.IsAgentUnreachable(e))
            {
                // Dead: removed below.
            }
            await runner.DestroyAsync(record, keepWorkspace: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes every pooled sandbox (a clean stop): they are cheap to start again.</summary>
    public async Task DrainAsync()
    {
        // Wait for a filler in flight, so no sandbox it is starting escapes the drain.
        for (var i = 0; i < 200 && Volatile.Read(ref _filling) == 1; i++)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }
        while (_pool.TryDequeue(out var live))
        {
            await runner.DestroyAsync(live.Record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
