using System.Collections.Concurrent;
using System.Text.Json;
using Hutch.Protocol.Agent;
using Hutch.Runtime.AgentLink;
using Hutch.Runtime.Durable;

namespace Hutch.Daemon.Processes;

/// <summary>
/// Background processes: started through the agent, then known only by their records on disk
/// (<see cref="ProcessRecordStore"/>), so their output and exit status outlive clients and daemon
/// restarts. Only input and signals go through the live control channel. Sessions, shells and
/// services are background processes too, and start theirs here.
/// </summary>
public sealed class ProcessManager(SandboxDirectory directory, TimeProvider time)
{
    /// <summary>Records kept per sandbox; past this the oldest ended process's records are removed.</summary>
    public const int MaxProcessRecords = 1024;

    /// <summary>Records removed at once when the cap is reached.</summary>
    private const int PruneBatch = 128;

    public const long DefaultKillGraceMs = 5000;
    public const long MaxKillGraceMs = 60_000;

    /// <summary>How long a follower waits without any inotify event before looking anyway.</summary>
    public static readonly TimeSpan FollowSafetyPoll = TimeSpan.FromSeconds(1);

    /// <summary>Newest process id by "records directory/name" (see <see cref="NewestNamed"/>).</summary>
    private readonly ConcurrentDictionary<string, string> _newestByName = new();

    /// <summary>Told when a background process started through the API has ended (artifacts look at what it left).</summary>
    public Func<string, CancellationToken, Task>? Ended { get; set; }

    public async Task<ProcessInfo> StartAsync(string idOrName, StartProcessRequest request, CancellationToken cancellationToken = default)
    {
        ProcessNames.Validate(request.Name);
        var info = await StartNamedAsync(idOrName, request, cancellationToken).ConfigureAwait(false);
        if (Ended is { } ended)
        {
            _ = TellWhenEndedAsync(directory.Find(idOrName).Id, info.Id, ended);
        }
        return info;
    }

    /// <summary>Waits (on the process's records, as a follower does) for the process to end, then says so; a sandbox deleted first ends the wait.</summary>
    private async Task TellWhenEndedAsync(string sandbox, string process, Func<string, CancellationToken, Task> ended)
    {
        try
        {
            var info = await WaitAsync(sandbox, process, TimeSpan.FromDays(30), CancellationToken.None).ConfigureAwait(false);
            if (!IsRunning(info))
            {
                await ended(sandbox, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is HutchException or CodedException or IOException)
        {
            // The sandbox went first: nothing is left to look at.
        }
    }

    /// <summary>Starts a process under any name, reserved ones included (sessions' shells, services' runs).</summary>
    public async Task<ProcessInfo> StartNamedAsync(string idOrName, StartProcessRequest request, CancellationToken cancellationToken)
    {
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var env = RequestValidator.Env(request.Env, "env");
        var secretEnv = await directory.Secrets.CommandEnvAsync(live, request.Secrets, env, cancellationToken).ConfigureAwait(false);
        var start = new ProcessStart(
            ProcessNames.NewId(),
            request.Name,
            RequestValidator.Argv(request.Argv, request.Command),
            CommandEnvironment.Of(live, env, secretEnv),
            request.Cwd is null ? live.Record.Cwd : WorkspaceCwd.Resolve(request.Cwd),
            request.TimeoutMs is null ? 0 : RequestValidator.Timeout(request.TimeoutMs, 0),
            request.Stdin == true,
            RequestValidator.MaxLogBytes(request.MaxLogBytes),
            Redact: directory.Secrets.AgentRedactionOf(live.Record.Id));
        var store = Records(live.Record.Id);
        MakeRoom(live, store);
        if (await LaunchAsync(live, store, start, cancellationToken).ConfigureAwait(false) is { } error)
        {
            throw AgentFailures.StartRefused(live, start.Cwd, error, "process");
        }
        return Describe(live.Record.Id, store, start.Id);
    }

    public IReadOnlyList<ProcessInfo> List(string idOrName)
    {
        var record = directory.Find(idOrName);
        return [.. Snapshots(Records(record.Id)).Select(s => Describe(record.Id, s)).OrderBy(p => p.StartedAt)];
    }

    public ProcessInfo Get(string idOrName, string process)
    {
        var record = directory.Find(idOrName);
        var store = Records(record.Id);
        return Describe(record.Id, store, Resolve(store, process));
    }

    /// <summary>Waits until the process has ended or the timeout passed, and returns it as it then is.</summary>
    public async Task<ProcessInfo> WaitAsync(string idOrName, string process, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var record = directory.Find(idOrName);
        var store = Records(record.Id);
        var id = Resolve(store, process);
        using var changes = new DirectoryChanges(store.PathOf(id));
        var deadline = time.GetUtcNow() + timeout;
        while (true)
        {
            var next = changes.Next;
            var info = Describe(record.Id, store, id);
            var left = deadline - time.GetUtcNow();
            if (!IsRunning(info) || left <= TimeSpan.Zero)
            {
                return info;
            }
            await DirectoryChanges.WaitAsync(next, left < FollowSafetyPoll ? left : FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Feeds a process's stdin from <paramref name="input"/>, then closes it when asked.</summary>
    public async Task WriteStdinAsync(string idOrName, string process, Stream input, bool eof, CancellationToken cancellationToken = default)
    {
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var id = Resolve(Records(live.Record.Id), process);
        var buffer = new byte[256 * 1024];
        int read;
        do
        {
            read = await input.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var last = read < buffer.Length;
            if (read > 0 || (last && eof))
            {
                await ProcessRequests.SendAsync(live, id, FrameKind.ProcessInput,
                    new ProcessInput(id, read > 0 ? buffer[..read] : null, last && eof), AgentJsonContext.Default.ProcessInput, cancellationToken).ConfigureAwait(false);
            }
        }
        while (read == buffer.Length);
    }

    public async Task<ProcessInfo> SignalAsync(string idOrName, string process, string signal, CancellationToken cancellationToken = default)
    {
        var number = AllowedSignals.Parse(signal);
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(live.Record.Id);
        var id = Resolve(store, process);
        if (!IsRunning(Describe(live.Record.Id, store, id)))
        {
            throw ProcessRequests.NotRunning(id);
        }
        await ProcessRequests.SendAsync(live, id, FrameKind.ProcessSignal, new ProcessSignal(id, number), AgentJsonContext.Default.ProcessSignal, cancellationToken).ConfigureAwait(false);
        return Describe(live.Record.Id, store, id);
    }

    /// <summary>
    /// The signal (SIGTERM unless told) to the whole tree, SIGKILL to what is left after the grace;
    /// returns once the process has ended. Killing an ended process just describes it.
    /// </summary>
    public async Task<ProcessInfo> KillAsync(string idOrName, string process, KillRequest request, CancellationToken cancellationToken = default)
    {
        var number = AllowedSignals.Parse(request.Signal ?? "SIGTERM");
        var grace = ValidateGrace(request.GraceMs);
        var record = directory.Find(idOrName);
        var store = Records(record.Id);
        var id = Resolve(store, process);
        if (Describe(record.Id, store, id) is var info && !IsRunning(info))
        {
            return info;
        }
        var live = await directory.LiveAsync(record.Id, cancellationToken).ConfigureAwait(false);
        try
        {
            // A grace of 0 is SIGKILL at once: the agent's kill path with the shortest grace it takes.
            await ProcessRequests.SendAsync(live, id, FrameKind.ProcessSignal, new ProcessSignal(id, number, Math.Max(grace, 1)), AgentJsonContext.Default.ProcessSignal, cancellationToken).ConfigureAwait(false);
        }
        catch (HutchException e) when (e.Code == ErrorCodes.ProcessNotRunning)
        {
            // It ended on its own meanwhile.
        }
        return await WaitAsync(record.Id, id, TimeSpan.FromMilliseconds(grace) + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A kill's or stop's grace in milliseconds: the default when not given, limit_out_of_range outside 0-60 s.</summary>
    public static long ValidateGrace(long? graceMs)
    {
        var grace = graceMs ?? DefaultKillGraceMs;
        return grace is < 0 or > MaxKillGraceMs
            ? throw new HutchException(ErrorCodes.LimitOutOfRange, $"graceMs must be between 0 and {MaxKillGraceMs}; it was {grace}.")
            : grace;
    }

    /// <summary>Removes an ended process's records (its log included).</summary>
    public void Delete(string idOrName, string process)
    {
        var record = directory.Find(idOrName);
        var store = Records(record.Id);
        var id = Resolve(store, process);
        if (IsRunning(Describe(record.Id, store, id)))
        {
            throw new HutchException(ErrorCodes.ProcessRunning, $"Process {id} is still running. Kill it first (POST …/processes/{id}/kill, or `hutch proc kill ID {id}`), then delete it.");
        }
        store.Delete(id);
    }

    /// <summary>Starts a durable process; the agent's refusal, or null once it runs (and its name is remembered).</summary>
    public async Task<AgentError?> LaunchAsync(LiveSandbox live, ProcessRecordStore store, ProcessStart start, CancellationToken cancellationToken)
    {
        CommandSize.CheckStart(start);
        AgentExec exec;
        try
        {
            exec = await live.Connection.StartProcessAsync(start, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (AgentFailures.IsDeadConnection(e))
        {
            throw AgentFailures.Died(live, e.Message);
        }
        using (exec)
        {
            var frame = await exec.Frames.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (frame.Kind == FrameKind.Error)
            {
                return JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentError)!;
            }
        }
        if (start.Name is { } name)
        {
            _newestByName[store.Directory + "/" + name] = start.Id;
        }
        return null;
    }

    /// <summary>The records of a sandbox's processes (logs and exit records), on the host.</summary>
    public ProcessRecordStore Records(string sandboxId) => new(directory.Paths.Records(sandboxId));

    public static bool IsRunning(ProcessInfo info) => info.State is ProcessStates.Running or ProcessStates.Starting;

    /// <summary>A process id, or the name of the newest process given that name.</summary>
    public string Resolve(ProcessRecordStore store, string process)
    {
        if (ProcessRecords.IsValidId(process) && store.Read(process) is not null)
        {
            return process;
        }
        return NewestNamed(store, process) ?? throw ProcessNotFound(process);
    }

    /// <summary>
    /// The newest process of a name: remembered when this daemon starts one, so a lookup reads one
    /// record; found by reading them all only after a restart or when the one remembered is gone.
    /// </summary>
    public string? NewestNamed(ProcessRecordStore store, string name)
    {
        var key = store.Directory + "/" + name;
        if (_newestByName.TryGetValue(key, out var remembered) && store.Read(remembered)?.Start.Name == name)
        {
            return remembered;
        }
        var found = Snapshots(store).Where(s => s.Start.Name == name).OrderByDescending(s => s.Start.StartedAtMs).FirstOrDefault()?.Start.Id;
        if (found is not null)
        {
            _newestByName[key] = found;
        }
        return found;
    }

    public static IEnumerable<ProcessSnapshot> Snapshots(ProcessRecordStore store)
    {
        foreach (var id in store.Ids())
        {
            if (store.Read(id) is { } snapshot)
            {
                yield return snapshot;
            }
        }
    }

    public ProcessInfo Describe(string sandboxId, ProcessRecordStore store, string id) =>
        Describe(sandboxId, store.Read(id) ?? throw ProcessNotFound(id));

    public ProcessInfo Describe(string sandboxId, ProcessSnapshot snapshot)
    {
        var (start, exit) = (snapshot.Start, snapshot.Exit);
        var info = new ProcessInfo(start.Id, start.Name, ProcessStates.Running, start.Argv, start.Cwd, start.Pid,
            DateTimeOffset.FromUnixTimeMilliseconds(start.StartedAtMs), LogBytes: snapshot.LogEnd,
            Terminal: snapshot.Terminal is { } t ? new TerminalSize(t.Cols, t.Rows) : null, Origin: start.Origin);
        if (snapshot.Damage is { } damage)
        {
            return info with { State = ProcessStates.Failed, Error = $"The process's records are damaged ({damage}): its exit status is unknown." };
        }
        if (exit is not null)
        {
            return info with
            {
                State = exit.Signal is null ? ProcessStates.Exited : ProcessStates.Killed,
                EndedAt = DateTimeOffset.FromUnixTimeMilliseconds(exit.EndedAtMs),
                ExitCode = exit.ExitCode,
                Signal = exit.Signal is { } s ? Hutch.Linux.Processes.SignalName(s) : null,
                TimedOut = exit.TimedOut,
                DurationMs = exit.DurationMs,
            };
        }
        return directory.IsLive(sandboxId)
            ? info
            : info with { State = ProcessStates.Failed, Error = "The sandbox stopped before the process ended: its exit status is unknown." };
    }

    /// <summary>Keeps the records under <see cref="MaxProcessRecords"/> by removing the oldest ended processes.</summary>
    public static void MakeRoom(LiveSandbox live, ProcessRecordStore store)
    {
        var ids = store.Ids();
        if (ids.Count < MaxProcessRecords)
        {
            return;
        }
        // Down to a margin below the cap, so the scan that finds the oldest happens once per PruneBatch starts, not on every one.
        var ended = Snapshots(store).Where(s => s.Exit is not null).OrderBy(s => s.Exit!.EndedAtMs).Take(ids.Count - MaxProcessRecords + PruneBatch).ToList();
        if (ids.Count - ended.Count >= MaxProcessRecords)
        {
            throw new HutchException(ErrorCodes.TooManyProcesses,
                $"Sandbox {live.Record.Id} has {ids.Count} processes running or starting, the most it keeps. Kill some first.");
        }
        foreach (var snapshot in ended)
        {
            store.Delete(snapshot.Start.Id);
        }
    }

    public static HutchException ProcessNotFound(string process) =>
        new(ErrorCodes.ProcessNotFound, $"No process of this sandbox has the id or name '{process}'. List them with GET …/processes (or `hutch proc ls ID`).");
}
