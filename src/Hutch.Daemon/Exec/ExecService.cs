using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Redaction;
using Hutch.Runtime.AgentLink;
using Hutch.Runtime.Cgroups;
using Hutch.Runtime.Oci;

namespace Hutch.Daemon.Exec;

/// <summary>
/// One-shot commands: run to completion with the output collected, or streamed as events. The
/// command belongs to the sandbox, not to the caller: when the caller stops reading (a client
/// disconnected), it runs on and its output is drained and dropped, unless KillOnDisconnect asks
/// for a kill; either way it keeps its <see cref="CommandLease"/> until it has ended.
/// </summary>
/// <param name="network">What the sandbox's network refused while a command ran, listed in its result.</param>
public sealed class ExecService(SandboxDirectory directory, OutputSpill spill, KeptOutputs outputs, INetworkRefusals? network = null,
    IArtifactDetector? artifacts = null)
{

    /// <summary>The whole outputs of truncated commands, read back by their routes.</summary>
    public KeptOutputs Outputs => outputs;

    private readonly CgroupReader _cgroups = new();

    /// <summary>
    /// Runs a command to completion with its output collected in buffers that spill to disk past a
    /// small memory budget: the caller's output cap (up to 1 GiB) is never memory the daemon holds.
    /// The caller disposes the result.
    /// </summary>
    /// <param name="lease">The command's place in the API's limits, kept past the request if the caller leaves while it runs.</param>
    public async Task<CollectedExec> CollectAsync(string idOrName, ExecRequest request, CommandLease? lease, CancellationToken cancellationToken = default)
    {
        var encoding = RequestValidator.Encoding(request.Encoding);
        var stdout = spill.NewBuffer(idOrName);
        var stderr = spill.NewBuffer(idOrName);
        try
        {
            // Collected as fast as it comes (into memory, then a file): the shared connection is fine.
            await foreach (var e in RunAsync(idOrName, request, RequestValidator.DefaultExecTimeoutMs, dedicatedConnection: false, lease, cancellationToken).ConfigureAwait(false))
            {
                switch (e)
                {
                    case CommandOutput o:
                        (o.Stream == OutputStream.Stderr ? stderr : stdout).Write(o.Data.Span);
                        break;
                    case CommandExited x:
                        return new CollectedExec(x.ExitCode, x.Signal, stdout, stderr, encoding,
                            x.Truncated || stdout.Lost || stderr.Lost, x.TimedOut, x.OomKilled, x.DurationMs, x.Killed,
                            x.FullOutput, x.StdoutTail, x.StderrTail, x.NetworkRefusals, x.Artifacts);
                    case CommandFailed f:
                        throw f.Error;
                }
            }
            throw new HutchException(ErrorCodes.SandboxDied, "The command's events ended without an exit status.");
        }
        catch
        {
            stdout.Dispose();
            stderr.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs a command and yields started, output and exited (or failed) events as they happen.
    /// Cancelling the enumeration leaves the command running unless <see cref="ExecRequest.KillOnDisconnect"/>.
    /// </summary>
    public IAsyncEnumerable<CommandEvent> StreamAsync(string idOrName, ExecRequest request, CommandLease? lease, CancellationToken cancellationToken = default) =>
        // Read at the client's pace: a connection of its own, so a slow reader stalls only this command.
        RunAsync(idOrName, request, 0, dedicatedConnection: true, lease, cancellationToken);

    /// <summary>The one exec path under both the collected and the streamed variants.</summary>
    private async IAsyncEnumerable<CommandEvent> RunAsync(string idOrName, ExecRequest request, long defaultTimeoutMs, bool dedicatedConnection,
        CommandLease? lease, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var stdin = RequestValidator.Stdin(request);
        var (argv, script) = RequestValidator.ExecCommand(request);
        var start = new ExecStart(
            argv,
            CommandEnvironment.Of(live, RequestValidator.Env(request.Env, "env"), directory.Secrets.EnvOf(live.Record.Id)),
            request.Cwd is null ? live.Record.Cwd : WorkspaceCwd.Resolve(request.Cwd),
            RequestValidator.Timeout(request.TimeoutMs, defaultTimeoutMs),
            RequestValidator.MaxOutput(request.MaxOutputBytes),
            HasStdin: stdin is not null,
            ScriptBytes: script?.Length ?? 0,
            // For the log the agent writes when it carries the exec on after a daemon stop.
            Redact: directory.Secrets.AgentRedactionOf(live.Record.Id));
        CommandSize.CheckStart(start);
        // The agent forwards everything and the cap is applied here, so that what is past it is
        // kept (KeptOutput) rather than dropped: a truncated result says where the whole of it is.
        var cap = start.MaxOutputBytes;
        start = start with { MaxOutputBytes = 0 };
        var cgroup = SandboxSpec.CgroupPathOf(live.Record.Id);
        var oomBefore = _cgroups.OomKills(cgroup);
        var networkMark = network?.Mark(live.Record.Id) ?? 0;

        AgentExec exec;
        try
        {
            exec = dedicatedConnection
                ? await AgentConnection.StartDedicatedExecAsync(directory.Paths.AgentSocket(live.Record.Id), start, cancellationToken).ConfigureAwait(false)
                : await live.Connection.StartExecAsync(start, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (AgentFailures.IsDeadConnection(e))
        {
            throw AgentFailures.Died(live, e.Message);
        }
        try
        {
            if (script is not null)
            {
                // All of it before anything else: the agent spawns the command after the script's last
                // byte. Not cancelled by the caller: a script cut midway would stay in the agent's memory
                // for as long as the shared connection lives; a whole one starts a command that runs
                // on, as any command does once started.
                await exec.WriteScriptAsync(script, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            exec.Dispose();
            if (AgentFailures.IsDeadConnection(e))
            {
                throw AgentFailures.Died(live, e.Message);
            }
            throw;
        }
        if (stdin is not null)
        {
            _ = FeedStdinAsync(exec, stdin);
        }

        var finished = false;
        var pid = 0;
        var kept = outputs.Begin(live.Record, cap);
        // Redacted before anything keeps or forwards it: the kept full output holds no value either.
        var secrets = directory.Secrets.RedactionOf(live.Record.Id);
        var redactors = new OutputRedactors(secrets);
        long forwarded = 0;
        long[] head = [0, 0];
        var cut = false;

        // Kept whole (up to its own cap), forwarded up to the exec's: null when nothing of it goes out.
        CommandOutput? Forward(CommandOutput output)
        {
            kept.Write(output.Stream, output.Data.Span);
            var data = output.Data[..(int)Math.Clamp(cap - forwarded, 0, output.Data.Length)];
            cut |= data.Length < output.Data.Length;
            if (data.Length == 0)
            {
                return null;
            }
            forwarded += data.Length;
            head[(int)output.Stream] += data.Length;
            return output with { Data = data };
        }

        try
        {
            while (await exec.Frames.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (exec.Frames.TryRead(out var frame))
                {
                    switch (frame.Kind)
                    {
                        case FrameKind.Started:
                            pid = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.ExecStarted)!.Pid;
                            yield return new CommandStarted(pid);
                            break;
                        case FrameKind.Stdout or FrameKind.Stderr:
                            var stream = frame.Kind == FrameKind.Stderr ? OutputStream.Stderr : OutputStream.Stdout;
                            if (Forward(new CommandOutput(stream, redactors.Push(stream, frame.Payload))) is { } forwardedOutput)
                            {
                                yield return forwardedOutput;
                            }
                            break;
                        case FrameKind.Exited:
                            finished = true;
                            foreach (var rest in redactors.Flush())
                            {
                                if (Forward(rest) is { } lastOutput)
                                {
                                    yield return lastOutput;
                                }
                            }
                            var exit = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.ExecExited)!;
                            // The kernel counts OOM kills per cgroup: a new one during this command was the OOM killer
                            // ending one of its processes (perhaps a child, as in `sh -c 'hog'` exiting 137).
                            // Commands running at the same time in the same sandbox cannot be told apart.
                            var oom = !exit.TimedOut && _cgroups.OomKills(cgroup) > oomBefore;
                            // A command is its own session and process group (setsid), so the group killed is its pid.
                            var killed = exit.TimedOut ? new ExecKilled(ExecKillReasons.Timeout, "SIGKILL", pid, exit.KilledProcesses) : null;
                            var signal = exit.Signal is { } s ? Hutch.Linux.Processes.SignalName(s) : null;
                            // Other commands running in the sandbox at the same time are not told apart.
                            var refused = network?.Since(live.Record.Id, networkMark, INetworkRefusals.MaxListed);
                            // Before the result: it lists what was kept. Other commands' files may be among them.
                            var stored = artifacts is null ? null : await artifacts.DetectAsync(live.Record.Id, cancellationToken).ConfigureAwait(false);
                            yield return cut || exit.Truncated
                                ? Truncated(live.Record.Id, kept, head, new CommandExited(exit.ExitCode, signal, true, exit.TimedOut, oom, exit.DurationMs, killed, NetworkRefusals: refused, Artifacts: stored))
                                : new CommandExited(exit.ExitCode, signal, false, exit.TimedOut, oom, exit.DurationMs, killed, NetworkRefusals: refused, Artifacts: stored);
                            yield break;
                        case FrameKind.Error:
                            finished = true;
                            var error = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentError)!;
                            error = error with { Message = Redactor.Redact(secrets, error.Message) };
                            foreach (var e in Refused(live, start, error))
                            {
                                yield return e;
                            }
                            yield break;
                    }
                }
            }
            finished = true;
            yield return new CommandFailed(new HutchException(ErrorCodes.SandboxDied, $"The sandbox {live.Record.Id} stopped while the command ran."));
        }
        finally
        {
            kept.Dispose();
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

    /// <summary>A truncated command's exit, with where its whole output is kept and the tails its result did not hold.</summary>
    private static CommandExited Truncated(string sandboxId, KeptOutput kept, long[] head, CommandExited exit)
    {
        if (kept.Keep() is not { } id)
        {
            return exit; // the sandbox's quota could not take even the directory: nothing more to give
        }
        var full = new ExecFullOutput(id, kept.BytesOf(OutputStream.Stdout), kept.BytesOf(OutputStream.Stderr), kept.Dropped == 0, kept.Dropped,
            KeptOutputs.Route(sandboxId, id, OutputStream.Stdout), KeptOutputs.Route(sandboxId, id, OutputStream.Stderr));
        return exit with
        {
            FullOutput = full,
            StdoutTail = kept.Tail(OutputStream.Stdout, head[0]),
            StderrTail = kept.Tail(OutputStream.Stderr, head[1]),
        };
    }

    /// <summary>
    /// A refused start as the exec's events: a missing or non-executable program ends like a shell's
    /// (a message on stderr, exit 127 or 126), anything else is the API's error for it.
    /// </summary>
    private static IEnumerable<CommandEvent> Refused(LiveSandbox live, ExecStart start, AgentError error)
    {
        if (error.Code is AgentErrorCodes.CommandNotFound or AgentErrorCodes.PermissionDenied)
        {
            yield return new CommandOutput(OutputStream.Stderr, Encoding.UTF8.GetBytes($"hutch: {error.Message}\n"));
            yield return new CommandExited(error.Code == AgentErrorCodes.CommandNotFound ? 127 : 126, null, false, false, false, 0);
            yield break;
        }
        yield return new CommandFailed(AgentFailures.StartRefused(live, start.Cwd, error, "command"));
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
                    await exec.KillAsync(Hutch.Linux.Processes.SIGKILL).ConfigureAwait(false);
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
}
