using System.Collections.Concurrent;
using Hutch.Daemon.Registry;
using Hutch.Protocol.Api;
using Hutch.Runtime.Oci;

namespace Hutch.Daemon.Engine;

/// <summary>
/// The warm pool: a few sandboxes started ahead of demand with the default limits and user, so a
/// create that asks for nothing special is a registry update (milliseconds) instead of a runtime
/// start (tens of milliseconds). What differs between sandboxes of one shape — name, env, cwd,
/// TTL — lives in the registry and in each exec, so a pooled sandbox can become anyone's. Pooled
/// sandboxes are invisible to the API, survive a daemon crash (the next daemon adopts them back
/// into its pool), and are deleted when a daemon stops cleanly.
/// </summary>
public sealed partial class SandboxEngine
{
    private readonly ConcurrentQueue<LiveSandbox> _pool = new();
    private readonly int _poolTarget;
    private int _filling;

    /// <summary>Pooled sandboxes ready to be claimed now.</summary>
    public int WarmPoolReady => _pool.Count;

    private bool IsPoolable(CreateSandboxRequest request, string? hostWorkspace) =>
        _poolTarget > 0 && hostWorkspace is null && request.User is null or "user"
        && RequestValidator.Limits(request.Limits, _hostLimits) == RequestValidator.Limits(null, _hostLimits);

    private LiveSandbox? TakePooled()
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

    private SandboxInfo ClaimPooled(LiveSandbox pooled, string? name, Dictionary<string, string> env, string cwd, DateTimeOffset now, long? ttl)
    {
        SandboxRecord record;
        try
        {
            record = _registry.Claim(pooled.Record, name, env, cwd, now, ttl is { } t ? now.AddSeconds(t) : null, ttl is { } d ? TtlDeadline.After(d) : null, _options.MaxSandboxes);
        }
        catch (HutchException)
        {
            _pool.Enqueue(pooled); // the name was taken, or the limit reached: the pooled sandbox is still good for the next caller
            throw;
        }
        pooled.Record = record;
        EnsureCwd(record, _paths.Workspace(record.Id));
        Log.Created(_log, record.Id, record.Name ?? "", (_time.GetUtcNow() - now).TotalMilliseconds);
        RefillPool();
        return Describe(record, running: true);
    }

    /// <summary>Starts sandboxes in the background until the pool is full; one filler at a time.</summary>
    private void RefillPool()
    {
        if (_poolTarget == 0 || _stopping.IsCancellationRequested || Interlocked.Exchange(ref _filling, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            var failed = false;
            try
            {
                while (!_stopping.IsCancellationRequested && _pool.Count < _poolTarget)
                {
                    var record = _registry.Insert(new SandboxRecord(
                        NewId(), null, SandboxStates.Pooled, _time.GetUtcNow(), null, "user", WorkspaceCwd.Root, [],
                        RequestValidator.Limits(null, _hostLimits), 0, null, _owner), FirstHostId, SandboxSpec.IdRangeSize, maxLive: null);
                    try
                    {
                        _pool.Enqueue(await StartAsync(record, _stopping.Token).ConfigureAwait(false));
                    }
                    catch (Exception e)
                    {
                        // A broken runtime must not make the filler spin: stop until the next claim.
                        // (A start cut short by the engine stopping is no failure worth a warning.)
                        failed = true;
                        if (!_stopping.IsCancellationRequested)
                        {
                            Log.PoolFillFailed(_log, record.Id, e);
                        }
                        await DeleteRecordAsync(record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
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
            if (!failed && _pool.Count < _poolTarget)
            {
                RefillPool(); // a claim raced with the end of the loop
            }
        });
    }

    /// <summary>Re-adopts a previous daemon's pooled sandboxes into this pool (or deletes the dead ones).</summary>
    private async Task AdoptPoolAsync(CancellationToken cancellationToken)
    {
        foreach (var record in _registry.ListPooled())
        {
            try
            {
                var live = await ConnectAsync(record, cancellationToken).ConfigureAwait(false);
                if (_pool.Count < _poolTarget)
                {
                    _pool.Enqueue(live);
                    continue;
                }
            }
            catch (Exception e) when (IsAgentUnreachable(e))
            {
                // Dead: removed below.
            }
            await DeleteRecordAsync(record, keepWorkspace: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes every pooled sandbox (a clean stop): they are cheap to start again.</summary>
    private async Task DrainPoolAsync()
    {
        // Wait for a filler in flight, so no sandbox it is starting escapes the drain.
        for (var i = 0; i < 200 && Volatile.Read(ref _filling) == 1; i++)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }
        while (_pool.TryDequeue(out var live))
        {
            await DeleteRecordAsync(live.Record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
