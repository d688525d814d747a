using System.Collections.Concurrent;
using System.Diagnostics;
using Hutch.Daemon.Processes;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Hutch.Runtime.Durable;

namespace Hutch.Daemon.Sessions;

/// <summary>
/// Sessions: a persistent shell per session (a background process named <c>session-NAME</c>, so it
/// and its state survive a daemon restart), fed one command at a time on its stdin. cd, export and
/// functions stay in the shell for the next command. Commands of a session run in order; sessions
/// are independent; deleting one kills its shell's tree only.
/// </summary>
/// <param name="network">What the sandbox's network refused while a command ran, listed in its result as an exec's are.</param>
/// <param name="artifacts">What the sandbox keeps of the files a command left, listed in its result as an exec's are.</param>
public sealed class SessionService(SandboxDirectory directory, ProcessManager processes, OutputSpill spill, INetworkRefusals? network = null,
    IArtifactDetector? artifacts = null)
{
    private const string SessionPrefix = "session-";
    private static readonly TimeSpan SessionGrace = TimeSpan.FromSeconds(2);

    /// <summary>One lock per session shell: its commands run in order.</summary>
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _sessionLocks = new();

    public async Task<SessionInfo> CreateAsync(string idOrName, CreateSessionRequest request, CancellationToken cancellationToken = default)
    {
        var name = request.Name ?? ProcessNames.NewId()[2..];
        if (!ProcessRecords.IsValidId(name) || name.Length > 48)
        {
            throw new HutchException(ErrorCodes.InvalidName, $"The session name '{name}' is not allowed. Use 1-48 of a-z, 0-9, '-' and '_'.");
        }
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = processes.Records(live.Record.Id);
        if (FindSession(live.Record.Id, store, name) is { State: SessionStates.Running })
        {
            throw new HutchException(ErrorCodes.NameTaken, $"Sandbox {live.Record.Id} already has a running session named '{name}'. Use it, or delete it first.");
        }
        // bash where the sandbox has it (its /usr is the host's); else the POSIX sh every system has.
        var shell = File.Exists("/usr/bin/bash") ? "/bin/bash" : "/bin/sh";
        var argv = shell == "/bin/bash" ? new[] { shell, "--noprofile", "--norc" } : [shell];
        var process = await processes.StartNamedAsync(live.Record.Id,
            new StartProcessRequest(Argv: argv, Cwd: request.Cwd, Env: request.Env, Name: SessionPrefix + name, Stdin: true), cancellationToken).ConfigureAwait(false);
        return ToSession(process);
    }

    public IReadOnlyList<SessionInfo> List(string idOrName) =>
        [.. processes.List(idOrName)
            .Where(p => p.Name?.StartsWith(SessionPrefix, StringComparison.Ordinal) == true)
            .Select(ToSession)];

    public SessionInfo Get(string idOrName, string session)
    {
        var record = directory.Find(idOrName);
        return FindSession(record.Id, processes.Records(record.Id), session) ?? throw SessionNotFound(session);
    }

    /// <summary>Kills the session's shell and everything it started, and forgets it.</summary>
    public async Task DeleteAsync(string idOrName, string session, CancellationToken cancellationToken = default)
    {
        var info = Get(idOrName, session);
        var sandbox = directory.Find(idOrName).Id;
        if (info.State == SessionStates.Running)
        {
            await processes.KillAsync(sandbox, info.ProcessId, new KillRequest("SIGHUP", (long)SessionGrace.TotalMilliseconds), cancellationToken).ConfigureAwait(false);
        }
        processes.Delete(sandbox, info.ProcessId);
        _sessionLocks.TryRemove(info.ProcessId, out _);
    }

    /// <summary>
    /// Runs one command in the session's shell, after any before it, and returns its output and exit
    /// status. A timeout kills what the command started but not the shell; a command that keeps the
    /// shell itself busy past the timeout (a loop of builtins) ends the session. The output is
    /// collected like a sync exec's (<see cref="OutputBuffer"/>): the caller disposes the result.
    /// </summary>
    public async Task<CollectedExec> ExecAsync(string idOrName, string session, SessionExecRequest request, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(request.Command))
        {
            throw new HutchException(ErrorCodes.EmptyCommand, "The command is empty. Send a shell line in command, like \"cd src && ls\".");
        }
        var timeout = TimeSpan.FromMilliseconds(RequestValidator.Timeout(request.TimeoutMs, 60_000));
        var cap = RequestValidator.MaxOutput(request.MaxOutputBytes);
        var encoding = RequestValidator.Encoding(request.Encoding);
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var store = processes.Records(live.Record.Id);
        var info = FindSession(live.Record.Id, store, session) ?? throw SessionNotFound(session);
        var gate = _sessionLocks.GetOrAdd(info.ProcessId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunInSessionAsync(live, store, info, request.Command, timeout, cap, encoding, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<CollectedExec> RunInSessionAsync(LiveSandbox live, ProcessRecordStore store, SessionInfo info, string command,
        TimeSpan timeout, long cap, string encoding, CancellationToken cancellationToken)
    {
        var id = info.ProcessId;
        using var log = store.OpenLog(id) ?? throw SessionNotFound(info.Name);
        using var changes = new DirectoryChanges(store.PathOf(id));
        var markers = SessionMarkers.New();
        var stdout = new SessionMarkers.Scanner(markers.Stdout, cap, withStatus: true, spill.NewBuffer(live.Record.Id));
        var stderr = new SessionMarkers.Scanner(markers.Stderr, cap, withStatus: false, spill.NewBuffer(live.Record.Id));
        // The output buffers are the result's to dispose, unless the command fails on the way.
        try
        {
            var cursor = log.End();
            var networkMark = network?.Mark(live.Record.Id) ?? 0;
            var clock = Stopwatch.StartNew();
            try
            {
                await ProcessRequests.SendAsync(live, id, FrameKind.ProcessInput, new ProcessInput(id, markers.Script(command), false), AgentJsonContext.Default.ProcessInput, cancellationToken).ConfigureAwait(false);
            }
            catch (HutchException e) when (e.Code == ErrorCodes.ProcessNotRunning)
            {
                throw SessionEnded(info);
            }
            var timedOut = false;
            var lost = false; // the log's size cap dropped output before it was read
            var deadline = timeout;
            ProcessInfo? shellEnded = null;
            while (!(stdout.Done && stderr.Done))
            {
                var next = changes.Next;
                var before = processes.Describe(live.Record.Id, store, id);
                foreach (var chunk in log.Read(cursor, 1 << 20))
                {
                    cursor = chunk.Next;
                    lost |= chunk.IsGap;
                    (chunk.Kind == FrameKind.Stderr ? stderr : stdout).Feed(chunk.Data.Span);
                }
                if (stdout.Done && stderr.Done)
                {
                    break;
                }
                if (before.State is not (ProcessStates.Running or ProcessStates.Starting))
                {
                    shellEnded = before; // `exit`, or killed: its status is the command's
                    break;
                }
                var left = deadline - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    if (!timedOut)
                    {
                        // Kill what the command started; the shell then prints its markers and lives on.
                        timedOut = true;
                        deadline = clock.Elapsed + SessionGrace;
                        await SignalSessionAsync(live, id, childrenOnly: true, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        // The shell itself is stuck in the command: the session cannot go on.
                        await SignalSessionAsync(live, id, childrenOnly: false, cancellationToken).ConfigureAwait(false);
                        deadline = clock.Elapsed + SessionGrace;
                    }
                    continue;
                }
                await DirectoryChanges.WaitAsync(next, left < ProcessManager.FollowSafetyPoll ? left : ProcessManager.FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
            }
            if (shellEnded is not null)
            {
                stdout.Flush();
                stderr.Flush();
            }
            var exitCode = shellEnded is null ? stdout.Status : shellEnded.ExitCode;
            var signal = shellEnded?.Signal;
            if (timedOut && shellEnded is null && exitCode is 137)
            {
                (exitCode, signal) = (null, "SIGKILL"); // the shell reports its killed command as 128+9
            }
            // Redacted once the markers were found in the raw output (a held tail would hide them).
            var secrets = directory.Secrets.RedactionOf(live.Record.Id);
            var stdoutText = OutputRedactors.Redact(stdout.Output, secrets, () => spill.NewBuffer(live.Record.Id));
            var stderrText = OutputRedactors.Redact(stderr.Output, secrets, () => spill.NewBuffer(live.Record.Id));
            return new CollectedExec(exitCode, signal, stdoutText, stderrText, encoding,
                lost || stdout.Truncated || stderr.Truncated || stdout.Output.Lost || stderr.Output.Lost, timedOut, false, (long)clock.Elapsed.TotalMilliseconds,
                NetworkRefusals: network?.Since(live.Record.Id, networkMark, INetworkRefusals.MaxListed),
                Artifacts: artifacts is null ? null : await artifacts.DetectAsync(live.Record.Id, cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            stdout.Output.Dispose();
            stderr.Output.Dispose();
            throw;
        }
    }

    private static async Task SignalSessionAsync(LiveSandbox live, string id, bool childrenOnly, CancellationToken cancellationToken)
    {
        try
        {
            await ProcessRequests.SendAsync(live, id, FrameKind.ProcessSignal, new ProcessSignal(id, Hutch.Linux.Processes.SIGKILL, ChildrenOnly: childrenOnly), AgentJsonContext.Default.ProcessSignal, cancellationToken).ConfigureAwait(false);
        }
        catch (HutchException e) when (e.Code == ErrorCodes.ProcessNotRunning)
        {
            // Ended meanwhile; the loop sees it.
        }
    }

    private SessionInfo? FindSession(string sandboxId, ProcessRecordStore store, string session) =>
        ProcessRecords.IsValidId(session) && processes.NewestNamed(store, SessionPrefix + session) is { } id && store.Read(id) is { } snapshot
            ? ToSession(processes.Describe(sandboxId, snapshot))
            : null;

    private static SessionInfo ToSession(ProcessInfo process) => new(
        process.Name![SessionPrefix.Length..], process.Id,
        process.State is ProcessStates.Running or ProcessStates.Starting ? SessionStates.Running : SessionStates.Ended,
        process.Argv[0], process.Pid, process.StartedAt);

    private static HutchException SessionNotFound(string session) =>
        new(ErrorCodes.SessionNotFound, $"No session of this sandbox is named '{session}'. Create it with POST …/sessions (or `hutch session create ID NAME`), or list them with GET …/sessions (or `hutch session ls ID`).");

    private static HutchException SessionEnded(SessionInfo info) =>
        new HutchException(ErrorCodes.SessionEnded, $"Session '{info.Name}' has ended (its shell exited or was killed): its state is gone. Delete it and create it again.");
}
