using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;
using Hutch.Runtime.AgentLink;
using Hutch.Runtime.Oci;

namespace Hutch.Daemon.Engine;

public sealed partial class SandboxEngine
{
    public Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default) =>
        ExecAsync(idOrName, request, lease: null, cancellationToken);

    /// <param name="lease">The command's place in the API's limits, kept past the request if the caller leaves while it runs.</param>
    public async Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CommandLease? lease, CancellationToken cancellationToken = default)
    {
        using var collected = await CollectExecAsync(idOrName, request, lease, cancellationToken).ConfigureAwait(false);
        return collected.ToResult();
    }

    /// <summary>
    /// Runs a command to completion with its output collected in buffers that spill to disk past a
    /// small memory budget: the caller's output cap (up to 1 GiB) is never memory the daemon holds.
    /// The caller disposes the result.
    /// </summary>
    /// <param name="lease">As in <see cref="ExecAsync(string, ExecRequest, CommandLease?, CancellationToken)"/>.</param>
    public async Task<CollectedExec> CollectExecAsync(string idOrName, ExecRequest request, CommandLease? lease, CancellationToken cancellationToken = default)
    {
        var encoding = RequestValidator.Encoding(request.Encoding);
        var stdout = NewOutputBuffer(idOrName);
        var stderr = NewOutputBuffer(idOrName);
        try
        {
            // Collected as fast as it comes (into memory, then a file): the shared connection is fine.
            await foreach (var e in RunAsync(idOrName, request, RequestValidator.DefaultExecTimeoutMs, dedicatedConnection: false, lease, cancellationToken).ConfigureAwait(false))
            {
                switch (e)
                {
                    case OutputEvent { IsStderr: false } o:
                        stdout.Write(o.Data.Span);
                        break;
                    case OutputEvent o:
                        stderr.Write(o.Data.Span);
                        break;
                    case ExitEvent x:
                        return new CollectedExec(x.Exit.ExitCode, x.Exit.Signal is { } s ? Processes.SignalName(s) : null,
                            stdout, stderr, encoding, x.Exit.Truncated || stdout.Lost || stderr.Lost, x.Exit.TimedOut, x.OomKilled, x.Exit.DurationMs);
                    case FailedEvent f:
                        throw new HutchException(f.Code, f.Status, f.Message);
                }
            }
            throw new HutchException(ErrorCodes.SandboxDied, 409, "The command's events ended without an exit status.");
        }
        catch
        {
            stdout.Dispose();
            stderr.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A buffer for a command's output in the sandbox <paramref name="idOrName"/>: it spills into the
    /// sandbox's staging directory, on its own quota (a caller's host directory has none: the data
    /// dir's spill directory then).
    /// </summary>
    private OutputBuffer NewOutputBuffer(string idOrName) => new(() =>
        _registry.Find(idOrName) is { HostWorkspace: null } record ? _paths.Staging(record.Id) : _paths.Spill);

    public IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default) =>
        ExecStreamAsync(idOrName, request, lease: null, cancellationToken);

    /// <param name="lease">As in <see cref="ExecAsync(string, ExecRequest, CommandLease?, CancellationToken)"/>.</param>
    public async IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, CommandLease? lease, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Read at the client's pace: a connection of its own, so a slow reader stalls only this command.
        await foreach (var e in RunAsync(idOrName, request, 0, dedicatedConnection: true, lease, cancellationToken).ConfigureAwait(false))
        {
            yield return e switch
            {
                StartEvent s => new ExecEvent(ExecEventTypes.Start, Pid: s.Pid),
                OutputEvent o => new ExecEvent(o.IsStderr ? ExecEventTypes.Stderr : ExecEventTypes.Stdout, Data: Convert.ToBase64String(o.Data.Span)),
                ExitEvent x => new ExecEvent(ExecEventTypes.Exit, ExitCode: x.Exit.ExitCode, Signal: x.Exit.Signal is { } sig ? Processes.SignalName(sig) : null,
                    Truncated: x.Exit.Truncated, TimedOut: x.Exit.TimedOut, OomKilled: x.OomKilled, DurationMs: x.Exit.DurationMs),
                FailedEvent f => new ExecEvent(ExecEventTypes.Error, Code: f.Code, Message: f.Message),
                _ => throw new InvalidOperationException($"unexpected exec event {e}"),
            };
        }
    }

    private abstract record RunEvent;
    private sealed record StartEvent(int Pid) : RunEvent;
    private sealed record OutputEvent(bool IsStderr, ReadOnlyMemory<byte> Data) : RunEvent;
    private sealed record ExitEvent(ExecExited Exit, bool OomKilled) : RunEvent;
    private sealed record FailedEvent(string Code, string Message, int Status = 409) : RunEvent;

    /// <summary>
    /// The one exec path under both the collected and the streamed variants. The command belongs to
    /// the sandbox, not to the caller: when the caller stops reading (a client disconnected), the
    /// command runs on and its output is drained and dropped, unless KillOnDisconnect asks for a kill;
    /// either way it keeps its <paramref name="lease"/> until it has ended.
    /// </summary>
    private async IAsyncEnumerable<RunEvent> RunAsync(string idOrName, ExecRequest request, long defaultTimeoutMs, bool dedicatedConnection,
        CommandLease? lease, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var live = await LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var argv = RequestValidator.Argv(request);
        var start = new ExecStart(
            argv,
            CommandEnvironment(live, RequestValidator.Env(request.Env, "env")),
            request.Cwd is null ? live.Record.Cwd : WorkspaceCwd.Resolve(request.Cwd),
            RequestValidator.Timeout(request.TimeoutMs, defaultTimeoutMs),
            RequestValidator.MaxOutput(request.MaxOutputBytes),
            HasStdin: false);
        var stdin = RequestValidator.Stdin(request);
        start = start with { HasStdin = stdin is not null };
        CommandSize.CheckStart(start);
        var cgroup = SandboxSpec.CgroupPathOf(live.Record.Id);
        var oomBefore = _cgroups.OomKills(cgroup);

        AgentExec exec;
        try
        {
            exec = dedicatedConnection
                ? await AgentConnection.StartDedicatedExecAsync(_paths.AgentSocket(live.Record.Id), start, cancellationToken).ConfigureAwait(false)
                : await live.Connection.StartExecAsync(start, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (AgentFailures.IsDeadConnection(e))
        {
            throw AgentFailures.Died(live, e.Message);
        }
        if (stdin is not null)
        {
            _ = FeedStdinAsync(exec, stdin);
        }

        var finished = false;
        try
        {
            while (await exec.Frames.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (exec.Frames.TryRead(out var frame))
                {
                    switch (frame.Kind)
                    {
                        case FrameKind.Started:
                            yield return new StartEvent(JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.ExecStarted)!.Pid);
                            break;
                        case FrameKind.Stdout or FrameKind.Stderr:
                            yield return new OutputEvent(frame.Kind == FrameKind.Stderr, frame.Payload);
                            break;
                        case FrameKind.Exited:
                            finished = true;
                            var exit = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.ExecExited)!;
                            // The kernel counts OOM kills per cgroup: a new one during this command was the OOM killer
                            // ending one of its processes (perhaps a child, as in `sh -c 'hog'` exiting 137).
                            // Commands running at the same time in the same sandbox cannot be told apart.
                            var oom = !exit.TimedOut && _cgroups.OomKills(cgroup) > oomBefore;
                            yield return new ExitEvent(exit, oom);
                            yield break;
                        case FrameKind.Error:
                            finished = true;
                            var error = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentError)!;
                            foreach (var e in Failure(live, start, error))
                            {
                                yield return e;
                            }
                            yield break;
                    }
                }
            }
            finished = true;
            yield return new FailedEvent(ErrorCodes.SandboxDied, $"The sandbox {live.Record.Id} stopped while the command ran.");
        }
        finally
        {
            if (!finished)
            {
                // The command runs on (or is being killed): it keeps its place in the limits until it has ended.
                var abandoned = AbandonAsync(exec, request.KillOnDisconnect == true);
                lease?.KeepUntil(abandoned);
            }
            else
            {
                exec.Dispose();
            }
        }
    }

    /// <summary>
    /// What an agent error means to the caller. A missing program or an unusable file is what a shell
    /// reports with 127 or 126 and a line on stderr, so the result has that shape; the rest are errors.
    /// </summary>
    /// <summary>
    /// A refused start as the exec's events: a missing or non-executable program ends like a shell's
    /// (a message on stderr, exit 127 or 126), anything else is the API's error for it.
    /// </summary>
    private static IEnumerable<RunEvent> Failure(LiveSandbox live, ExecStart start, AgentError error)
    {
        if (error.Code is "command_not_found" or "permission_denied")
        {
            yield return new OutputEvent(true, Encoding.UTF8.GetBytes($"hutch: {error.Message}\n"));
            yield return new ExitEvent(new ExecExited(error.Code == "command_not_found" ? 127 : 126, null, false, false, 0), false);
            yield break;
        }
        var refused = AgentFailures.StartRefused(live, start.Cwd, error, "command");
        yield return new FailedEvent(refused.Code, refused.Message, refused.Status);
    }

    private static async Task FeedStdinAsync(AgentExec exec, byte[] stdin)
    {
        try
        {
            await exec.WriteStdinAsync(stdin).ConfigureAwait(false);
            await exec.CloseStdinAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The sandbox went away; the reader sees sandbox_died.
        }
    }

    /// <summary>The caller left: kill if asked, then keep reading so the agent is never blocked on us.</summary>
    private static async Task AbandonAsync(AgentExec exec, bool kill)
    {
        using (exec)
        {
            try
            {
                if (kill)
                {
                    await exec.KillAsync(Processes.SIGKILL).ConfigureAwait(false);
                }
                await foreach (var _ in exec.Frames.ReadAllAsync().ConfigureAwait(false))
                {
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
            {
                // Connection gone: nothing left to drain.
            }
        }
    }

    /// <summary>
    /// The connected sandbox for a command. A running sandbox this engine has not met yet (handed to
    /// the daemons by `hutch run --keep` while this daemon was already up) is adopted on the spot.
    /// </summary>
    private async Task<LiveSandbox> LiveAsync(string idOrName, CancellationToken cancellationToken)
    {
        var record = FindRecord(idOrName);
        if (_live.TryGetValue(record.Id, out var live) && live.Connection.IsOpen)
        {
            return live;
        }
        if (record.State == SandboxStates.Running && record.Owner == _owner)
        {
            try
            {
                return await ConnectAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsAgentUnreachable(e))
            {
                _registry.SetState(record.Id, SandboxStates.Lost);
                record = record with { State = SandboxStates.Lost };
            }
        }
        throw HutchException.Conflict(ErrorCodes.SandboxNotRunning,
            $"The sandbox {record.Id} is {record.State}: its processes are gone. Delete it and create a new one.");
    }

    /// <summary>The whole environment of a command: Hutch's base, then the sandbox's, then the exec's.</summary>
    private static Dictionary<string, string> CommandEnvironment(LiveSandbox live, Dictionary<string, string> execEnv)
    {
        var user = live.Record.User;
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = WorkspaceCwd.Root,
            ["USER"] = user,
            ["LOGNAME"] = user,
            ["LANG"] = "C.UTF-8",
            ["HOSTNAME"] = live.Record.Id,
        };
        foreach (var (k, v) in live.Record.Env)
        {
            env[k] = v;
        }
        foreach (var (k, v) in execEnv)
        {
            env[k] = v;
        }
        return env;
    }
}
