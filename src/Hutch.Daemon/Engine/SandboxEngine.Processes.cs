using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;
using Hutch.Runtime.AgentLink;
using Hutch.Runtime.Durable;

namespace Hutch.Daemon.Engine;

/// <summary>
/// Background processes: started through the agent, then known only by their records on disk
/// (<see cref="ProcessRecordStore"/>), so their output and exit status outlive clients and daemon
/// restarts. Only input and signals go through the live control channel.
/// </summary>
public sealed partial class SandboxEngine
{
    /// <summary>Records kept per sandbox; past this the oldest ended process's records are removed.</summary>
    public const int MaxProcessRecords = 1024;

    /// <summary>Records removed at once when the cap is reached.</summary>
    private const int PruneBatch = 128;

    public const long DefaultMaxLogBytes = 16L << 20;
    public const long MinLogBytes = 64L << 10;
    public const long MaxLogBytesLimit = 1L << 30;
    public const long DefaultKillGraceMs = 5000;
    public const long MaxKillGraceMs = 60_000;

    /// <summary>Newest process id by "records directory/name" (see <see cref="NewestNamed"/>).</summary>
    private readonly ConcurrentDictionary<string, string> _newestByName = new();

    /// <summary>How long a follower waits without any inotify event before looking anyway.</summary>
    private static readonly TimeSpan FollowSafetyPoll = TimeSpan.FromSeconds(1);

    public Task<ProcessInfo> StartProcessAsync(string idOrName, StartProcessRequest request, CancellationToken cancellationToken = default)
    {
        ProcessNames.Validate(request.Name);
        return StartNamedProcessAsync(idOrName, request, cancellationToken);
    }

    /// <summary>Starts a process under any name, reserved ones included (sessions' shells).</summary>
    private async Task<ProcessInfo> StartNamedProcessAsync(string idOrName, StartProcessRequest request, CancellationToken cancellationToken)
    {
        var live = await LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var argv = RequestValidator.Argv(request.Argv, request.Command);
        var maxLog = RequestValidator.MaxLogBytes(request.MaxLogBytes);
        var store = Records(live.Record.Id);
        MakeRoomForProcess(live, store);
        var id = ProcessNames.NewId();
        var start = new ProcessStart(
            id,
            request.Name,
            argv,
            CommandEnvironment(live, RequestValidator.Env(request.Env, "env")),
            request.Cwd is null ? live.Record.Cwd : WorkspaceCwd.Resolve(request.Cwd),
            request.TimeoutMs is null ? 0 : RequestValidator.Timeout(request.TimeoutMs, 0),
            request.Stdin == true,
            maxLog);
        if (await LaunchAsync(live, store, start, cancellationToken).ConfigureAwait(false) is { } error)
        {
            throw StartFailure(live, start, error);
        }
        return Describe(live.Record.Id, store, id);
    }

    public async Task<IReadOnlyList<ProcessInfo>> ListProcessesAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var record = await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(record.Id);
        return [.. Snapshots(store).Select(s => Describe(record.Id, s)).OrderBy(p => p.StartedAt)];
    }

    public async Task<ProcessInfo> GetProcessAsync(string idOrName, string process, CancellationToken cancellationToken = default)
    {
        var record = await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(record.Id);
        return Describe(record.Id, store, ResolveProcess(store, process));
    }

    /// <summary>Waits until the process has ended or the timeout passed, and returns it as it then is.</summary>
    public async Task<ProcessInfo> WaitProcessAsync(string idOrName, string process, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var record = await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(record.Id);
        var id = ResolveProcess(store, process);
        using var changes = new DirectoryChanges(store.PathOf(id));
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            var next = changes.Next;
            var info = Describe(record.Id, store, id);
            var left = deadline - _time.GetUtcNow();
            if (info.State is not (ProcessStates.Running or ProcessStates.Starting) || left <= TimeSpan.Zero)
            {
                return info;
            }
            await DirectoryChanges.WaitAsync(next, left < FollowSafetyPoll ? left : FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Feeds a process's stdin from <paramref name="input"/>, then closes it when asked.</summary>
    public async Task WriteProcessStdinAsync(string idOrName, string process, Stream input, bool eof, CancellationToken cancellationToken = default)
    {
        var live = await LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var id = ResolveProcess(Records(live.Record.Id), process);
        var buffer = new byte[256 * 1024];
        int read;
        do
        {
            read = await input.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var last = read < buffer.Length;
            if (read > 0 || (last && eof))
            {
                await ProcessRequestAsync(live, id, FrameKind.ProcessInput,
                    new ProcessInput(id, read > 0 ? buffer[..read] : null, last && eof), AgentJsonContext.Default.ProcessInput, cancellationToken).ConfigureAwait(false);
            }
        }
        while (read == buffer.Length);
    }

    public async Task<ProcessInfo> SignalProcessAsync(string idOrName, string process, string signal, CancellationToken cancellationToken = default)
    {
        var number = AllowedSignals.Parse(signal);
        var live = await LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(live.Record.Id);
        var id = ResolveProcess(store, process);
        if (Describe(live.Record.Id, store, id).State is not (ProcessStates.Running or ProcessStates.Starting))
        {
            throw NotRunning(id);
        }
        await ProcessRequestAsync(live, id, FrameKind.ProcessSignal, new ProcessSignal(id, number), AgentJsonContext.Default.ProcessSignal, cancellationToken).ConfigureAwait(false);
        return Describe(live.Record.Id, store, id);
    }

    /// <summary>
    /// The signal (SIGTERM unless told) to the whole tree, SIGKILL to what is left after the grace;
    /// returns once the process has ended. Killing an ended process just describes it.
    /// </summary>
    public async Task<ProcessInfo> KillProcessAsync(string idOrName, string process, KillRequest request, CancellationToken cancellationToken = default)
    {
        var number = AllowedSignals.Parse(request.Signal ?? "SIGTERM");
        var grace = request.GraceMs ?? DefaultKillGraceMs;
        if (grace < 0 || grace > MaxKillGraceMs)
        {
            throw HutchException.BadRequest(ErrorCodes.LimitOutOfRange, $"graceMs must be between 0 and {MaxKillGraceMs}; it was {grace}.");
        }
        var record = await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(record.Id);
        var id = ResolveProcess(store, process);
        if (Describe(record.Id, store, id).State is not (ProcessStates.Running or ProcessStates.Starting))
        {
            return Describe(record.Id, store, id);
        }
        var live = await LiveAsync(record.Id, cancellationToken).ConfigureAwait(false);
        try
        {
            // A grace of 0 is SIGKILL at once: the agent's kill path with the shortest grace it takes.
            await ProcessRequestAsync(live, id, FrameKind.ProcessSignal, new ProcessSignal(id, number, Math.Max(grace, 1)), AgentJsonContext.Default.ProcessSignal, cancellationToken).ConfigureAwait(false);
        }
        catch (HutchException e) when (e.Code == ErrorCodes.ProcessNotRunning)
        {
            // It ended on its own meanwhile.
        }
        return await WaitProcessAsync(record.Id, id, TimeSpan.FromMilliseconds(grace) + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes an ended process's records (its log included).</summary>
    public async Task DeleteProcessAsync(string idOrName, string process, CancellationToken cancellationToken = default)
    {
        var record = await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(record.Id);
        var id = ResolveProcess(store, process);
        if (Describe(record.Id, store, id).State is ProcessStates.Running or ProcessStates.Starting)
        {
            throw HutchException.Conflict(ErrorCodes.ProcessRunning, $"Process {id} is still running. Kill it first (POST …/processes/{id}/kill), then delete it.");
        }
        store.Delete(id);
    }

    /// <summary>
    /// Output from <paramref name="cursor"/>: what is there now, or with <paramref name="follow"/> on
    /// until the process ends. Ends with an exit event once the process has ended and all of its
    /// output was given. Every event carries the cursor to resume from.
    /// </summary>
    public async IAsyncEnumerable<LogEvent> ReadProcessLogAsync(string idOrName, string process, long cursor, bool follow,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var (chunk, ended) in ReadLogChunksAsync(idOrName, process, cursor, follow, cancellationToken).ConfigureAwait(false))
        {
            yield return ended is not null
                ? new LogEvent(LogEventTypes.Exit, chunk.Next, Process: ended)
                : chunk.IsGap
                    ? new LogEvent(LogEventTypes.Truncated, chunk.Next, Dropped: chunk.Dropped)
                    : new LogEvent(chunk.Kind == FrameKind.Stderr ? LogEventTypes.Stderr : LogEventTypes.Stdout, chunk.Next, Convert.ToBase64String(chunk.Data.Span));
        }
    }

    /// <summary>
    /// The log as bytes, for <see cref="ReadProcessLogAsync"/> and <see cref="ReadLogWindowAsync"/>:
    /// its chunks and gaps, then, once the process has ended and all of its output was given, the
    /// process as it ended (with an empty chunk whose Next is the final cursor).
    /// </summary>
    private async IAsyncEnumerable<(LogChunk Chunk, ProcessInfo? Ended)> ReadLogChunksAsync(string idOrName, string process, long cursor, bool follow,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var record = await RecordAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = Records(record.Id);
        var id = ResolveProcess(store, process);
        if (cursor < 0)
        {
            throw HutchException.BadRequest(ErrorCodes.InvalidCursor, "cursor must be 0 or more.");
        }
        using var log = store.OpenLog(id) ?? throw ProcessNotFound(process);
        using var changes = follow ? new DirectoryChanges(store.PathOf(id)) : null;
        while (true)
        {
            var next = changes?.Next;
            // Whether it had ended before this read: if so, the read below saw all of its output.
            var before = Describe(record.Id, store, id);
            List<LogChunk> chunks;
            try
            {
                chunks = log.Read(cursor, 1 << 20);
            }
            catch (InvalidCursorException e)
            {
                throw HutchException.BadRequest(ErrorCodes.InvalidCursor, e.Message);
            }
            catch (IOException e)
            {
                // A segment that is not a plain file of ours (a planted link is refused, never followed).
                throw new HutchException(ErrorCodes.Internal, 500, $"The log of process {id} is damaged and cannot be read: {e.Message}", e);
            }
            foreach (var chunk in chunks)
            {
                cursor = chunk.Next;
                yield return (chunk, null);
            }
            if (chunks.Count > 0)
            {
                continue;
            }
            if (before.State is not (ProcessStates.Running or ProcessStates.Starting))
            {
                yield return (new LogChunk(FrameKind.Stdout, ReadOnlyMemory<byte>.Empty, 0, cursor), before);
                yield break;
            }
            if (next is null)
            {
                yield break;
            }
            await DirectoryChanges.WaitAsync(next, FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts a durable process; the agent's refusal, or null once it runs (and its name is remembered).</summary>
    private async Task<AgentError?> LaunchAsync(LiveSandbox live, ProcessRecordStore store, ProcessStart start, CancellationToken cancellationToken)
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

    /// <summary>
    /// What the log holds from <paramref name="cursor"/>, up to about <paramref name="maxBytes"/>, without
    /// waiting. Its output is in buffers that spill to disk past a small budget (as a sync exec's):
    /// the caller writes them out and disposes the window.
    /// </summary>
    public async Task<LogWindow> ReadLogWindowAsync(string idOrName, string process, long cursor, long maxBytes, CancellationToken cancellationToken = default)
    {
        var stdout = NewOutputBuffer(idOrName);
        var stderr = NewOutputBuffer(idOrName);
        try
        {
            long dropped = 0;
            ProcessInfo? ended = null;
            await foreach (var (chunk, end) in ReadLogChunksAsync(idOrName, process, cursor, follow: false, cancellationToken).ConfigureAwait(false))
            {
                cursor = chunk.Next;
                ended ??= end;
                dropped += chunk.Dropped;
                (chunk.Kind == FrameKind.Stderr ? stderr : stdout).Write(chunk.Data.Span);
                if (stdout.Length + stderr.Length >= maxBytes)
                {
                    break;
                }
            }
            var info = ended ?? await GetProcessAsync(idOrName, process, cancellationToken).ConfigureAwait(false);
            return new LogWindow(stdout, stderr, cursor, dropped, info);
        }
        catch
        {
            stdout.Dispose();
            stderr.Dispose();
            throw;
        }
    }

    private ProcessRecordStore Records(string sandboxId) => new(_paths.Records(sandboxId));

    /// <summary>The registry row of a sandbox whose records may be read (live or not, never deleted).</summary>
    private Task<Registry.SandboxRecord> RecordAsync(string idOrName, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(FindRecord(idOrName));
    }

    private bool IsLive(string sandboxId) => _live.TryGetValue(sandboxId, out var live) && live.Connection.IsOpen;

    /// <summary>A process id, or the name of the newest process given that name.</summary>
    private string ResolveProcess(ProcessRecordStore store, string process)
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
    private string? NewestNamed(ProcessRecordStore store, string name)
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

    private static HutchException NotRunning(string id) =>
        HutchException.Conflict(ErrorCodes.ProcessNotRunning, $"Process {id} is not running any more. Read its exit with GET …/processes/{id}.");

    private static HutchException ProcessNotFound(string process) =>
        new(ErrorCodes.ProcessNotFound, 404, $"No process of this sandbox has the id or name '{process}'. List them with GET …/processes (or `hutch ps`).");

    private static IEnumerable<ProcessSnapshot> Snapshots(ProcessRecordStore store)
    {
        foreach (var id in store.Ids())
        {
            if (store.Read(id) is { } snapshot)
            {
                yield return snapshot;
            }
        }
    }

    private ProcessInfo Describe(string sandboxId, ProcessRecordStore store, string id) =>
        Describe(sandboxId, store.Read(id) ?? throw ProcessNotFound(id));

    private ProcessInfo Describe(string sandboxId, ProcessSnapshot snapshot)
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
                Signal = exit.Signal is { } s ? Processes.SignalName(s) : null,
                TimedOut = exit.TimedOut,
                DurationMs = exit.DurationMs,
            };
        }
        return IsLive(sandboxId)
            ? info
            : info with { State = ProcessStates.Failed, Error = "The sandbox stopped before the process ended: its exit status is unknown." };
    }

    /// <summary>Keeps the records under <see cref="MaxProcessRecords"/> by removing the oldest ended processes.</summary>
    private void MakeRoomForProcess(LiveSandbox live, ProcessRecordStore store)
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
            throw HutchException.Conflict(ErrorCodes.TooManyProcesses,
                $"Sandbox {live.Record.Id} has {ids.Count} processes running or starting, the most it keeps. Kill some first.");
        }
        foreach (var snapshot in ended)
        {
            store.Delete(snapshot.Start.Id);
        }
    }

    private static async Task ProcessRequestAsync<T>(LiveSandbox live, string id, FrameKind kind, T payload,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        try
        {
            await live.Connection.RequestAsync(kind, payload, type, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentException e) when (e.Code == "process_not_running")
        {
            throw NotRunning(id);
        }
        catch (AgentException e) when (e.Code == "no_stdin")
        {
            throw HutchException.Conflict(ErrorCodes.NoStdin, $"Process {id} was started without stdin. Start it with \"stdin\": true to write to it.");
        }
        catch (Exception e) when (AgentFailures.IsDeadConnection(e))
        {
            throw AgentFailures.Died(live, e.Message);
        }
    }

    private static HutchException StartFailure(LiveSandbox live, ProcessStart start, AgentError error) =>
        AgentFailures.StartRefused(live, start.Cwd, error, "process");
}
