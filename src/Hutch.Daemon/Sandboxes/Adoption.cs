using Hutch.Daemon.Registry;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// What a starting daemon does with what the previous one left, and the TTL reaper that runs while
/// it lives. Sandboxes keep running when the daemon stops, so each one whose agent still answers is
/// live again; one whose agent is gone is marked lost (delete still cleans it). Sandboxes of an
/// in-process `hutch run` are left to it while its process lives, and cleaned up once it has died
/// without doing so.
/// </summary>
public sealed class Adoption(SandboxDirectory directory, SandboxLifecycle lifecycle, WarmPool pool, SandboxStorage storage, SandboxEvents events,
    IReadOnlyList<ISandboxObserver> observers, TimeProvider time, ILogger log)
{
    private static readonly TimeSpan ExpiryInterval = TimeSpan.FromSeconds(1);

    public async Task AdoptAsync(CancellationToken cancellationToken)
    {
        storage.RemoveAbandonedStaging(id => directory.Registry.Find(id) is { } record && IsOwnedByLiveRun(record));
        // A template's pooled sandbox may run its start command: a service to supervise again, as the pool's own work.
        var pooled = await pool.AdoptAsync(cancellationToken).ConfigureAwait(false);
        using (SandboxDirectory.PoolWork())
        {
            foreach (var record in pooled)
            {
                foreach (var observer in observers)
                {
                    observer.Adopted(record);
                }
            }
        }
        foreach (var record in directory.Registry.ListLive())
        {
            if (record.State == SandboxStates.Deleting)
            {
                continue; // the first retry round below finishes what a previous daemon's delete could not
            }
            if (record.Owner.StartsWith("run:", StringComparison.Ordinal))
            {
                if (!IsOwnedByLiveRun(record))
                {
                    await lifecycle.DeleteAsync(record.Id, keepWorkspace: false, cancellationToken).ConfigureAwait(false);
                }
                continue;
            }
            try
            {
                await directory.ConnectAsync(record, cancellationToken).ConfigureAwait(false);
                if (record.State != SandboxStates.Running)
                {
                    directory.Registry.SetState(record.Id, SandboxStates.Running);
                }
                Log.Adopted(log, record.Id);
                events.Record(record.Id, SandboxEventTypes.Adopted, "A starting daemon found the sandbox running and took it over.");
                foreach (var observer in observers)
                {
                    observer.Adopted(record);
                }
            }
            catch (Exception e) when (SandboxDirectory.IsAgentUnreachable(e))
            {
                directory.Registry.SetState(record.Id, SandboxStates.Lost);
                Log.Lost(log, record.Id);
                events.Record(record.Id, SandboxEventTypes.Lost, "A starting daemon found the sandbox's agent gone (host reboot, or its init was killed): delete it and create another.");
            }
        }
    }

    /// <summary>A sandbox of a `hutch run` whose process still lives: a daemon leaves it alone.</summary>
    private static bool IsOwnedByLiveRun(SandboxRecord record) =>
        record.Owner.StartsWith("run:", StringComparison.Ordinal) && int.TryParse(record.Owner.AsSpan(4), out var pid) && Hutch.Linux.Processes.Exists(pid);

    /// <summary>Every second until <paramref name="stopping"/>: retries the deletes that could not finish, then deletes expired sandboxes.</summary>
    public void StartExpiry(CancellationToken stopping) => _ = Task.Run(async () =>
    {
        using var timer = new PeriodicTimer(ExpiryInterval, time);
        try
        {
            do
            {
                await lifecycle.RetryDeletionsAsync().ConfigureAwait(false);
                await ExpireAsync(stopping).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Engine stopping.
        }
    });

    /// <summary>Deletes every sandbox whose TTL has passed (workspace included), by the boot clock, never the wall clock.</summary>
    public async Task ExpireAsync(CancellationToken stopping)
    {
        var now = time.GetUtcNow();
        foreach (var record in directory.Registry.ListLive())
        {
            if (record.HasExpired(now) && record.State != SandboxStates.Deleting && !record.Owner.StartsWith("run:", StringComparison.Ordinal))
            {
                try
                {
                    // Read again: a PATCH may have given it a new TTL since the list was read.
                    if (directory.Registry.Find(record.Id) is not { } current || !current.HasExpired(time.GetUtcNow()))
                    {
                        continue;
                    }
                    await lifecycle.DeleteAsync(record.Id, keepWorkspace: false, stopping, SandboxRegistry.ExpiredReason).ConfigureAwait(false);
                    Log.Expired(log, record.Id);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.ExpiryFailed(log, record.Id, e);
                }
            }
        }
    }
}
