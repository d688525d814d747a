using Hutch.Daemon.Processes;

namespace Hutch.Daemon.Services;

/// <summary>
/// Watches one service: probes each run until it is ready, waits for it to end, applies the restart
/// policy, and carries out a stop (SIGTERM, then SIGKILL after the grace). Everything it learns is
/// written to the service's record at once, so a daemon that restarts resumes from the record. The
/// processes are the sandbox's: when the daemon stops, supervision stops and they run on.
/// </summary>
internal sealed class ServiceSupervisor
{
    private static readonly TimeSpan MaxAttempt = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinAttempt = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ExitPoll = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Without a probe, a run is ready once it has stayed up this long (supervisord's startsecs): a
    /// command that dies at once (`exit 3`, a missing file) is a failed start, not a ready service.
    /// </summary>
    public static readonly TimeSpan NoProbeSettle = TimeSpan.FromSeconds(1);

    private readonly ProcessManager _processes;
    private readonly ServiceProbes _probes;
    private readonly string _sandboxId;
    private readonly ServiceStore _store;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abandonSource;
    private readonly CancellationToken _abandon;

    /// <summary>Cancelled by a stop request or an abandon: what every wait of the loop listens to.</summary>
    private readonly CancellationTokenSource _stopOrAbandon;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ServiceRecord _record;

    /// <param name="daemonStopping">Cancelled when the daemon stops: supervision ends, the service runs on.</param>
    public ServiceSupervisor(ProcessManager processes, ServiceProbes probes, string sandboxId, ServiceStore store, ServiceRecord record, CancellationToken daemonStopping)
    {
        _processes = processes;
        _probes = probes;
        _sandboxId = sandboxId;
        _store = store;
        _record = record;
        _abandonSource = CancellationTokenSource.CreateLinkedTokenSource(daemonStopping);
        _abandon = _abandonSource.Token;
        _stopOrAbandon = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, _abandon);
    }

    public Task Completion { get; private set; } = Task.CompletedTask;

    public ServiceRecord Record => Volatile.Read(ref _record);

    /// <summary>Completes at the next change of the record after it was taken.</summary>
    public Task Next => Volatile.Read(ref _changed).Task;

    public void Start() => Completion = Task.Run(RunAsync);

    /// <summary>Ends supervision without touching the service (its sandbox is being deleted) and waits for the loop.</summary>
    public async Task AbandonAsync()
    {
        await _abandonSource.CancelAsync().ConfigureAwait(false);
        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Asks for a stop; the loop carries it out (and records it first, so a restarted daemon finishes it).</summary>
    public void RequestStop(long graceMs)
    {
        Save(Record with { StopRequested = true, StopGraceMs = graceMs });
        _stop.Cancel();
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                var record = Record;
                if (record.StopRequested)
                {
                    await StopAsync().ConfigureAwait(false);
                    return;
                }
                var process = record.Status.ProcessId is { } id ? _processes.Get(_sandboxId, id) : null;
                if (process is null)
                {
                    process = await StartRunAsync().ConfigureAwait(false);
                }
                if (Record.Status.State == ServiceStates.Starting)
                {
                    process = await AwaitReadyAsync(process).ConfigureAwait(false);
                }
                if (IsRunning(process))
                {
                    process = await AwaitExitAsync(process!).ConfigureAwait(false);
                }
                if (process is null)
                {
                    continue; // a stop was asked for: the top of the loop carries it out
                }
                if (!await EndRunAsync(process).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            // The daemon is stopping or the sandbox is being deleted: the next daemon resumes from the record.
        }
        catch (HutchException e) when (e.Code is ErrorCodes.SandboxNotFound or ErrorCodes.SandboxNotRunning or ErrorCodes.SandboxDied)
        {
            // The sandbox is gone: nothing is left to supervise.
        }
    }

    /// <summary>Starts a run (a new background process) and records it as starting.</summary>
    private async Task<ProcessInfo> StartRunAsync()
    {
        var spec = Record.Spec;
        var process = await ServiceRuns.StartAsync(_processes, _sandboxId, spec, _abandon).ConfigureAwait(false);
        Save(Record with
        {
            Status = Record.Status with
            {
                State = ServiceStates.Starting,
                ProcessId = process.Id, Pid = process.Pid, StartedAt = process.StartedAt, ReadyAt = null,
                EndedAt = null, ExitCode = null, Signal = null, StopReason = null, LastProbeError = null, ProbeAttempts = 0,
            },
        });
        return process;
    }

    /// <summary>Probes until ready; returns the process as it is then (ended, if it ended or the readiness deadline killed it), or null on a stop.</summary>
    private async Task<ProcessInfo?> AwaitReadyAsync(ProcessInfo process)
    {
        if (Record.Spec.Probe is not { } probe)
        {
            return await AwaitSettledAsync(process).ConfigureAwait(false);
        }
        var deadline = Record.Status.StartedAt!.Value + TimeSpan.FromMilliseconds(probe.TimeoutMs!.Value);
        var interval = TimeSpan.FromMilliseconds(probe.IntervalMs!.Value);
        using var probing = _probes.For(_sandboxId, probe);
        try
        {
            while (true)
            {
                process = _processes.Get(_sandboxId, process.Id);
                if (!IsRunning(process))
                {
                    return process;
                }
                // An attempt may run past the deadline by up to a second: what it saw is worth more than a cut-off.
                var left = deadline - DateTimeOffset.UtcNow;
                var attempt = left > MaxAttempt ? MaxAttempt : left > MinAttempt ? left : MinAttempt;
                var error = await probing.CheckAsync(attempt, _stopOrAbandon.Token).ConfigureAwait(false);
                var attempts = Record.Status.ProbeAttempts + 1;
                if (error is null)
                {
                    Save(Record with { Status = Record.Status with { State = ServiceStates.Ready, ReadyAt = DateTimeOffset.UtcNow, LastProbeError = null, ProbeAttempts = attempts } });
                    return process;
                }
                if (error != Record.Status.LastProbeError)
                {
                    Save(Record with { Status = Record.Status with { LastProbeError = error, ProbeAttempts = attempts } });
                }
                else
                {
                    // Progress for waiters (`service start --wait`); not worth an fsync per attempt.
                    Publish(Record with { Status = Record.Status with { ProbeAttempts = attempts } });
                }
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    Save(Record with { Status = Record.Status with { StopReason = StopReasons.ReadinessTimeout } });
                    return await _processes.KillAsync(_sandboxId, process.Id, new KillRequest(GraceMs: 2000), _abandon).ConfigureAwait(false);
                }
                await Task.Delay(interval, _stopOrAbandon.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !_abandon.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Without a probe: ready once the run has stayed up <see cref="NoProbeSettle"/>; the process as it is then, or null on a stop.</summary>
    private async Task<ProcessInfo?> AwaitSettledAsync(ProcessInfo? process)
    {
        var settled = Record.Status.StartedAt!.Value + NoProbeSettle;
        try
        {
            while (IsRunning(process))
            {
                var left = settled - DateTimeOffset.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    Save(Record with { Status = Record.Status with { State = ServiceStates.Ready, ReadyAt = DateTimeOffset.UtcNow } });
                    return process;
                }
                process = await _processes.WaitAsync(_sandboxId, process!.Id, left, _stopOrAbandon.Token).ConfigureAwait(false);
            }
            if (process is { EndedAt: { } ended } && ended >= settled)
            {
                // It stayed up long enough and ended since; this wait only woke late (a busy host). Its
                // own times decide: it was ready, then ended, not a failed start.
                Save(Record with { Status = Record.Status with { State = ServiceStates.Ready, ReadyAt = settled } });
            }
            return process;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !_abandon.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Waits for the run to end; null on a stop.</summary>
    private async Task<ProcessInfo?> AwaitExitAsync(ProcessInfo process)
    {
        try
        {
            while (IsRunning(process))
            {
                process = await _processes.WaitAsync(_sandboxId, process.Id, ExitPoll, _stopOrAbandon.Token).ConfigureAwait(false);
            }
            return process;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !_abandon.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Records how a run ended and decides whether another starts; false when supervision is over.</summary>
    private async Task<bool> EndRunAsync(ProcessInfo process)
    {
        var status = Record.Status;
        var wasReady = status.ReadyAt is not null;
        var reason = status.StopReason == StopReasons.ReadinessTimeout ? StopReasons.ReadinessTimeout
            : wasReady ? StopReasons.Exited : StopReasons.ExitedBeforeReady;
        var failed = !wasReady || process.ExitCode != 0 || process.Signal is not null;
        var restart = Record.Spec.Restart;
        var again = failed && restart.Policy == "on-failure" && status.Restarts < restart.MaxRestarts;
        Save(Record with
        {
            Status = status with
            {
                // `exited` is only a clean end (ready, then exit 0); a failed run whose restarts ran out is `failed`.
                State = again ? ServiceStates.Starting : failed ? ServiceStates.Failed : ServiceStates.Exited,
                StopReason = reason, ExitCode = process.ExitCode, Signal = process.Signal, EndedAt = process.EndedAt ?? DateTimeOffset.UtcNow,
                ProcessId = again ? null : process.Id, Restarts = status.Restarts + (again ? 1 : 0),
            },
        });
        if (!again)
        {
            return false;
        }
        var backoff = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 100 * Math.Pow(2, status.Restarts)));
        try
        {
            await Task.Delay(backoff, _stopOrAbandon.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !_abandon.IsCancellationRequested)
        {
            // The stop is carried out at the top of the loop.
        }
        return true;
    }

    /// <summary>SIGTERM, SIGKILL after the grace; records which one ended it.</summary>
    private async Task StopAsync()
    {
        var record = Record;
        ProcessInfo? ended = null;
        if (record.Status.ProcessId is { } id)
        {
            ended = await _processes.KillAsync(_sandboxId, id, new KillRequest("SIGTERM", record.StopGraceMs), _abandon).ConfigureAwait(false);
        }
        Save(record with
        {
            Status = record.Status with
            {
                State = ServiceStates.Stopped,
                StopReason = ended?.Signal == "SIGKILL" ? StopReasons.KilledBySigkill : StopReasons.StoppedBySigterm,
                ExitCode = ended?.ExitCode ?? record.Status.ExitCode, Signal = ended?.Signal ?? record.Status.Signal,
                EndedAt = ended?.EndedAt ?? record.Status.EndedAt ?? DateTimeOffset.UtcNow,
            },
        });
    }

    private static bool IsRunning(ProcessInfo? process) => process?.State is ProcessStates.Running or ProcessStates.Starting;

    /// <summary>Writes the record; a stop once asked for stays asked for, whoever saves after it.</summary>
    private void Save(ServiceRecord record) => Publish(record, persist: true);

    /// <summary>Makes the record the current one for readers and waiters; on disk too when <paramref name="persist"/>.</summary>
    private void Publish(ServiceRecord record, bool persist = false)
    {
        lock (_store)
        {
            var current = Record;
            if (current.StopRequested && !record.StopRequested)
            {
                record = record with { StopRequested = true, StopGraceMs = current.StopGraceMs };
            }
            if (persist)
            {
                _store.Write(record);
            }
            Volatile.Write(ref _record, record);
        }
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
