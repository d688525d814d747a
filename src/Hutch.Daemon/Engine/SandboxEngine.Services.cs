using System.Collections.Concurrent;
using Hutch.Daemon.Engine.Services;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Engine;

/// <summary>
/// Services: named long-running commands with a readiness probe and a restart policy. Each run is a
/// background process named <c>service-NAME</c>; a <see cref="ServiceSupervisor"/> in the daemon
/// watches it, and the service's record on the host lets the next daemon resume supervision.
/// </summary>
public sealed partial class SandboxEngine
{
    private const string ServicePrefix = "service-";

    /// <summary>Supervisors by "sandbox/name".</summary>
    private readonly ConcurrentDictionary<string, ServiceSupervisor> _supervisors = new();

    public async Task<ServiceInfo> CreateServiceAsync(string idOrName, CreateServiceRequest request, CancellationToken cancellationToken = default)
    {
        var spec = ServiceValidator.Spec(request);
        var live = await LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var sandbox = live.Record.Id;
        var store = Services(sandbox);
        var key = $"{sandbox}/{spec.Name}";
        lock (_supervisors)
        {
            if ((_supervisors.TryGetValue(key, out var running) && !running.Completion.IsCompleted) || store.Read(spec.Name) is { IsActive: true })
            {
                throw HutchException.Conflict(ErrorCodes.ServiceRunning, $"The service '{spec.Name}' is {store.Read(spec.Name)?.Status.State ?? "running"} in sandbox {sandbox}. Stop it first, or pick another name.");
            }
            // Claimed before the first start: a second create of the same name now gets the 409.
            store.Write(new ServiceRecord(spec, new ServiceInfo(spec.Name, ServiceStates.Starting, spec.Argv, Probe: spec.Probe, Restart: spec.Restart)));
        }
        ProcessInfo first;
        try
        {
            first = await StartServiceProcessAsync(sandbox, spec, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            store.Delete(spec.Name); // a service that could not start at all is not left behind
            throw;
        }
        var record = new ServiceRecord(spec, new ServiceInfo(spec.Name, spec.Probe is null ? ServiceStates.Ready : ServiceStates.Starting, spec.Argv,
            first.Id, first.Pid, StartedAt: first.StartedAt, ReadyAt: spec.Probe is null ? first.StartedAt : null, Probe: spec.Probe, Restart: spec.Restart));
        store.Write(record);
        Supervise(sandbox, store, record);
        return record.Status;
    }

    public async Task<IReadOnlyList<ServiceInfo>> ListServicesAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var record = await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false);
        return [.. Services(record.Id).List().Select(r => r.Status)];
    }

    public async Task<ServiceInfo> GetServiceAsync(string idOrName, string name, CancellationToken cancellationToken = default) =>
        (await ServiceRecordAsync(idOrName, name, cancellationToken).ConfigureAwait(false)).Record.Status;

    /// <summary>Waits until the service is no longer starting (ready, or failed) or the timeout passed.</summary>
    public async Task<ServiceInfo> WaitServiceAsync(string idOrName, string name, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var (sandbox, record) = await ServiceRecordAsync(idOrName, name, cancellationToken).ConfigureAwait(false);
            var supervisor = _supervisors.GetValueOrDefault($"{sandbox}/{name}");
            var next = supervisor?.Next;
            record = supervisor?.Record ?? record;
            var left = deadline - DateTimeOffset.UtcNow;
            if (record.Status.State != ServiceStates.Starting || left <= TimeSpan.Zero || supervisor is null || supervisor.Completion.IsCompleted)
            {
                return supervisor?.Record.Status ?? record.Status;
            }
            await Hutch.Runtime.Durable.DirectoryChanges.WaitAsync(next!, left < FollowSafetyPoll ? left : FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM, then SIGKILL after the grace; returns the stopped service. Stopping a service that is not running just describes it.</summary>
    public async Task<ServiceInfo> StopServiceAsync(string idOrName, string name, StopServiceRequest request, CancellationToken cancellationToken = default)
    {
        var grace = request.GraceMs ?? DefaultKillGraceMs;
        if (grace < 0 || grace > MaxKillGraceMs)
        {
            throw HutchException.BadRequest(ErrorCodes.LimitOutOfRange, $"graceMs must be between 0 and {MaxKillGraceMs}; it was {grace}.");
        }
        var (sandbox, record) = await ServiceRecordAsync(idOrName, name, cancellationToken).ConfigureAwait(false);
        if (!_supervisors.TryGetValue($"{sandbox}/{name}", out var supervisor) || supervisor.Completion.IsCompleted)
        {
            return record.Status;
        }
        supervisor.RequestStop(grace);
        await supervisor.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return supervisor.Record.Status;
    }

    /// <summary>Stops the service if it runs and forgets it (its runs' logs included).</summary>
    public async Task DeleteServiceAsync(string idOrName, string name, CancellationToken cancellationToken = default)
    {
        var (sandbox, record) = await ServiceRecordAsync(idOrName, name, cancellationToken).ConfigureAwait(false);
        await StopServiceAsync(sandbox, name, new StopServiceRequest(), cancellationToken).ConfigureAwait(false);
        _supervisors.TryRemove($"{sandbox}/{name}", out _);
        var processes = Records(sandbox);
        foreach (var id in processes.Ids())
        {
            if (processes.Read(id)?.Start.Name == ServicePrefix + name)
            {
                processes.Delete(id);
            }
        }
        Services(sandbox).Delete(record.Spec.Name);
    }

    /// <summary>The last <paramref name="tail"/> lines of the current (or last) run's stdout and stderr.</summary>
    public async Task<ServiceLogs> ServiceLogsAsync(string idOrName, string name, int tail, CancellationToken cancellationToken = default)
    {
        if (tail < 1 || tail > 100_000)
        {
            throw HutchException.BadRequest(ErrorCodes.LimitOutOfRange, $"tail must be between 1 and 100000; it was {tail}.");
        }
        var (sandbox, record) = await ServiceRecordAsync(idOrName, name, cancellationToken).ConfigureAwait(false);
        if (record.Status.ProcessId is not { } id)
        {
            return new ServiceLogs("", "", record.Status);
        }
        var stdout = new LogTail(tail);
        var stderr = new LogTail(tail);
        await foreach (var e in ReadProcessLogAsync(sandbox, id, 0, follow: false, cancellationToken).ConfigureAwait(false))
        {
            if (e.Data is { } data)
            {
                (e.Type == LogEventTypes.Stderr ? stderr : stdout).Add(Convert.FromBase64String(data));
            }
        }
        return new ServiceLogs(stdout.ToString(), stderr.ToString(), record.Status);
    }

    /// <summary>Starts one run of a service (its process name is reserved, so this bypasses the name check).</summary>
    internal Task<ProcessInfo> StartServiceProcessAsync(string sandboxId, ServiceSpec spec, CancellationToken cancellationToken) =>
        StartNamedProcessAsync(sandboxId, new StartProcessRequest(Argv: spec.Argv, Cwd: spec.Cwd, Env: spec.Env, Name: ServicePrefix + spec.Name, MaxLogBytes: spec.MaxLogBytes), cancellationToken);

    /// <summary>After adoption: supervise again every service a previous daemon left starting, ready or stopping.</summary>
    private void ResumeServices(string sandboxId)
    {
        var store = Services(sandboxId);
        foreach (var record in store.List().Where(r => r.IsActive))
        {
            Supervise(sandboxId, store, record);
        }
    }

    /// <summary>A deleted sandbox's supervisors just go away (its processes die with it).</summary>
    private async Task AbandonServicesAsync(string sandboxId)
    {
        foreach (var (key, supervisor) in _supervisors.Where(s => s.Key.StartsWith(sandboxId + "/", StringComparison.Ordinal)).ToList())
        {
            _supervisors.TryRemove(key, out _);
            await supervisor.AbandonAsync().ConfigureAwait(false);
        }
    }

    private void Supervise(string sandboxId, ServiceStore store, ServiceRecord record)
    {
        var supervisor = new ServiceSupervisor(this, sandboxId, store, record, _stopping.Token);
        _supervisors[$"{sandboxId}/{record.Spec.Name}"] = supervisor;
        supervisor.Start();
    }

    private ServiceStore Services(string sandboxId) => new(Path.Join(_paths.SandboxDir(sandboxId), "services"));

    private async Task<(string Sandbox, ServiceRecord Record)> ServiceRecordAsync(string idOrName, string name, CancellationToken cancellationToken)
    {
        var sandbox = (await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false)).Id;
        var record = (ProcessRecords.IsValidId(name) ? Services(sandbox).Read(name) : null)
            ?? throw new HutchException(ErrorCodes.ServiceNotFound, 404, $"Sandbox {sandbox} has no service named '{name}'. List them with GET …/services.");
        return (sandbox, _supervisors.GetValueOrDefault($"{sandbox}/{name}")?.Record ?? record);
    }
}
