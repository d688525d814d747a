using System.Collections.Concurrent;
using Hutch.Daemon.Processes;
using Hutch.Protocol.Agent;

namespace Hutch.Daemon.Services;

/// <summary>
/// Services: named long-running commands with a readiness probe and a restart policy. Each run is a
/// background process named <c>service-NAME</c>; a <see cref="ServiceSupervisor"/> in the daemon
/// watches it, and the service's record on the host lets the next daemon resume supervision.
/// </summary>
public sealed class ServiceManager(SandboxDirectory directory, ProcessManager processes, LogReader logs, ServiceProbes probes, CancellationToken stopping) : ISandboxObserver
{
    /// <summary>Supervisors by "sandbox/name".</summary>
    private readonly ConcurrentDictionary<string, ServiceSupervisor> _supervisors = new();

    public async Task<ServiceInfo> CreateAsync(string idOrName, CreateServiceRequest request, CancellationToken cancellationToken = default)
    {
        var spec = ServiceValidator.Spec(request);
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var sandbox = live.Record.Id;
        var store = Services(sandbox);
        var key = $"{sandbox}/{spec.Name}";
        lock (_supervisors)
        {
            if ((_supervisors.TryGetValue(key, out var running) && !running.Completion.IsCompleted) || store.Read(spec.Name) is { IsActive: true })
            {
                throw new HutchException(ErrorCodes.ServiceRunning, $"The service '{spec.Name}' is {store.Read(spec.Name)?.Status.State ?? "running"} in sandbox {sandbox}. Stop it first, or pick another name.");
            }
            // Claimed before the first start: a second create of the same name now gets the 409.
            store.Write(new ServiceRecord(spec, new ServiceInfo(spec.Name, ServiceStates.Starting, spec.Argv, Probe: spec.Probe, Restart: spec.Restart)));
        }
        ProcessInfo first;
        try
        {
            first = await ServiceRuns.StartAsync(processes, sandbox, spec, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            store.Delete(spec.Name); // a service that could not start at all is not left behind
            throw;
        }
        // Starting even without a probe: the supervisor calls it ready once the run has stayed up (ServiceSupervisor.NoProbeSettle).
        var record = new ServiceRecord(spec, new ServiceInfo(spec.Name, ServiceStates.Starting, spec.Argv,
            first.Id, first.Pid, StartedAt: first.StartedAt, Probe: spec.Probe, Restart: spec.Restart));
        store.Write(record);
        Supervise(sandbox, store, record);
        return record.Status;
    }

    public IReadOnlyList<ServiceInfo> List(string idOrName) => [.. Services(directory.Find(idOrName).Id).List().Select(r => r.Status)];

    public ServiceInfo Get(string idOrName, string name) => Find(idOrName, name).Record.Status;

    /// <summary>Waits until the service is no longer starting (ready, or failed) or the timeout passed.</summary>
    public async Task<ServiceInfo> WaitAsync(string idOrName, string name, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var (sandbox, record) = Find(idOrName, name);
            var supervisor = _supervisors.GetValueOrDefault($"{sandbox}/{name}");
            var next = supervisor?.Next;
            record = supervisor?.Record ?? record;
            var left = deadline - DateTimeOffset.UtcNow;
            if (record.Status.State != ServiceStates.Starting || left <= TimeSpan.Zero || supervisor is null || supervisor.Completion.IsCompleted)
            {
                return supervisor?.Record.Status ?? record.Status;
            }
            await Hutch.Runtime.Durable.DirectoryChanges.WaitAsync(next!, left < ProcessManager.FollowSafetyPoll ? left : ProcessManager.FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM, then SIGKILL after the grace; returns the stopped service. Stopping a service that is not running just describes it.</summary>
    public async Task<ServiceInfo> StopAsync(string idOrName, string name, StopServiceRequest request, CancellationToken cancellationToken = default)
    {
        var grace = ProcessManager.ValidateGrace(request.GraceMs);
        var (sandbox, record) = Find(idOrName, name);
        if (!_supervisors.TryGetValue($"{sandbox}/{name}", out var supervisor) || supervisor.Completion.IsCompleted)
        {
            return record.Status;
        }
        supervisor.RequestStop(grace);
        await supervisor.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return supervisor.Record.Status;
    }

    /// <summary>Stops the service if it runs and forgets it (its runs' logs included).</summary>
    public async Task DeleteAsync(string idOrName, string name, CancellationToken cancellationToken = default)
    {
        var (sandbox, record) = Find(idOrName, name);
        await StopAsync(sandbox, name, new StopServiceRequest(), cancellationToken).ConfigureAwait(false);
        _supervisors.TryRemove($"{sandbox}/{name}", out _);
        var records = processes.Records(sandbox);
        foreach (var id in records.Ids())
        {
            if (records.Read(id)?.Start.Name == ServiceRuns.Prefix + name)
            {
                records.Delete(id);
            }
        }
        Services(sandbox).Delete(record.Spec.Name);
    }

    /// <summary>The last <paramref name="tail"/> lines of the current (or last) run's stdout and stderr.</summary>
    public async Task<ServiceLogs> LogsAsync(string idOrName, string name, int tail, CancellationToken cancellationToken = default)
    {
        if (tail < 1 || tail > 100_000)
        {
            throw new HutchException(ErrorCodes.LimitOutOfRange, $"tail must be between 1 and 100000; it was {tail}.");
        }
        var (sandbox, record) = Find(idOrName, name);
        if (record.Status.ProcessId is not { } id)
        {
            return new ServiceLogs("", "", record.Status);
        }
        var stdout = new LogTail(tail);
        var stderr = new LogTail(tail);
        await foreach (var entry in logs.ReadAsync(sandbox, id, 0, follow: false, cancellationToken).ConfigureAwait(false))
        {
            if (entry.Event is CommandOutput output)
            {
                (output.Stream == OutputStream.Stderr ? stderr : stdout).Add(output.Data.Span);
            }
        }
        return new ServiceLogs(stdout.ToString(), stderr.ToString(), record.Status);
    }

    /// <summary>After adoption: supervise again every service a previous daemon left starting, ready or stopping.</summary>
    public void Adopted(Registry.SandboxRecord record)
    {
        var store = Services(record.Id);
        foreach (var service in store.List().Where(r => r.IsActive))
        {
            Supervise(record.Id, store, service);
        }
    }

    /// <summary>A deleted sandbox's supervisors just go away (its processes die with it).</summary>
    public async Task DeletingAsync(string sandboxId)
    {
        foreach (var (key, supervisor) in _supervisors.Where(s => s.Key.StartsWith(sandboxId + "/", StringComparison.Ordinal)).ToList())
        {
            _supervisors.TryRemove(key, out _);
            await supervisor.AbandonAsync().ConfigureAwait(false);
        }
    }

    private void Supervise(string sandboxId, ServiceStore store, ServiceRecord record)
    {
        var supervisor = new ServiceSupervisor(processes, probes, sandboxId, store, record, stopping);
        _supervisors[$"{sandboxId}/{record.Spec.Name}"] = supervisor;
        supervisor.Start();
    }

    private ServiceStore Services(string sandboxId) => new(Path.Join(directory.Paths.SandboxDir(sandboxId), "services"));

    private (string Sandbox, ServiceRecord Record) Find(string idOrName, string name)
    {
        var sandbox = directory.Find(idOrName).Id;
        var record = (ProcessRecords.IsValidId(name) ? Services(sandbox).Read(name) : null)
            ?? throw new HutchException(ErrorCodes.ServiceNotFound, $"Sandbox {sandbox} has no service named '{name}'. List them with GET …/services (or `hutch service ls ID`).");
        return (sandbox, _supervisors.GetValueOrDefault($"{sandbox}/{name}")?.Record ?? record);
    }
}
