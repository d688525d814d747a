using Hutch.Protocol.Api;

namespace Hutch.Daemon.Engine;

public sealed partial class SandboxEngine
{
    private static readonly TimeSpan ExpiryInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Re-adopts what a previous daemon left: sandboxes keep running when the daemon stops, so each
    /// one whose agent still answers is live again; one whose agent is gone is marked lost (delete
    /// still cleans it). Sandboxes of an in-process `hutch run` are left to it while its process lives,
    /// and cleaned up once it has died without doing so.
    /// </summary>
    private async Task AdoptAsync(CancellationToken cancellationToken)
    {
        RemoveAbandonedStaging();
        await AdoptPoolAsync(cancellationToken).ConfigureAwait(false);
        foreach (var record in _registry.ListLive())
        {
            if (record.Owner.StartsWith("run:", StringComparison.Ordinal))
            {
                if (IsOwnedByLiveRun(record))
                {
                    continue;
                }
                await DeleteAsync(record.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
                continue;
            }
            try
            {
                await ConnectAsync(record, cancellationToken).ConfigureAwait(false);
                if (record.State != SandboxStates.Running)
                {
                    _registry.SetState(record.Id, SandboxStates.Running);
                }
                ResumeServices(record.Id);
                Log.Adopted(_log, record.Id);
                RecordEvent(record.Id, SandboxEventTypes.Adopted, "A starting daemon found the sandbox running and took it over.");
                ReportAdoptedCommands(record.Id);
            }
            catch (Exception e) when (IsAgentUnreachable(e))
            {
                _registry.SetState(record.Id, SandboxStates.Lost);
                Log.Lost(_log, record.Id);
                RecordEvent(record.Id, SandboxEventTypes.Lost, "A starting daemon found the sandbox's agent gone (host reboot, or its init was killed): delete it and create another.");
            }
        }
    }

    /// <summary>A sandbox of a `hutch run` whose process still lives: a daemon leaves it alone.</summary>
    private static bool IsOwnedByLiveRun(Registry.SandboxRecord record) =>
        record.Owner.StartsWith("run:", StringComparison.Ordinal) && int.TryParse(record.Owner.AsSpan(4), out var pid) && Hutch.Linux.Processes.Exists(pid);

    private void StartExpiry() => _ = Task.Run(async () =>
    {
        using var timer = new PeriodicTimer(ExpiryInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                await ExpireAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Engine stopping.
        }
    });

    /// <summary>Deletes every sandbox whose TTL has passed (workspace included), by the boot clock, never the wall clock.</summary>
    internal async Task ExpireAsync()
    {
        var now = _time.GetUtcNow();
        foreach (var record in _registry.ListLive())
        {
            if (record.HasExpired(now) && !record.Owner.StartsWith("run:", StringComparison.Ordinal))
            {
                try
                {
                    await DeleteAsync(record.Id, cancellationToken: _stopping.Token).ConfigureAwait(false);
                    Log.Expired(_log, record.Id);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.ExpiryFailed(_log, record.Id, e);
                }
            }
        }
    }
}
