using Hutch.Daemon.Processes;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Hutch.Runtime.Durable;

namespace Hutch.Daemon.Shells;

/// <summary>
/// PTY shells (docs/shells.md): durable processes whose stdin, stdout and stderr are a
/// pseudo-terminal the agent owns. Everything a process has, a shell has (records, log, cursors,
/// kill, exit record), so this adds only what a terminal needs on top: the size, resizes, Ctrl-C
/// to the foreground group, and a close that hangs up.
/// </summary>
public sealed class ShellService(SandboxDirectory directory, ProcessManager processes)
{
    public const int DefaultShellCols = 80;
    public const int DefaultShellRows = 24;
    public const int MaxShellDimension = 1000;

    /// <summary>How long a closed shell's tree has after SIGHUP before SIGKILL.</summary>
    public const long DefaultShellCloseGraceMs = 2000;

    private static readonly string[] LoginShell = ["/bin/bash", "-l"];
    private static readonly string[] FallbackShell = ["/bin/sh", "-l"];

    /// <summary>Opens a shell: <c>/bin/bash -l</c> (or <c>/bin/sh -l</c>) unless the request names a command.</summary>
    public async Task<ProcessInfo> OpenAsync(string idOrName, OpenShellRequest request, CancellationToken cancellationToken = default)
    {
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        var (cols, rows) = ShellSize(request.Cols ?? DefaultShellCols, request.Rows ?? DefaultShellRows);
        var argv = request.Argv is null && request.Command is null ? null : RequestValidator.Argv(request.Argv, request.Command);
        ProcessNames.Validate(request.Name);
        var maxLog = RequestValidator.MaxLogBytes(request.MaxLogBytes);
        var store = processes.Records(live.Record.Id);
        ProcessManager.MakeRoom(live, store);
        var start = new ProcessStart(
            ProcessNames.NewId(),
            request.Name,
            argv ?? LoginShell,
            CommandEnvironment.Of(live, RequestValidator.Env(request.Env, "env"), directory.Secrets.EnvOf(live.Record.Id)),
            request.Cwd is null ? live.Record.Cwd : WorkspaceCwd.Resolve(request.Cwd),
            TimeoutMs: 0,
            HasStdin: true,
            maxLog,
            new TerminalRecord(cols, rows),
            directory.Secrets.AgentRedactionOf(live.Record.Id));
        var error = await processes.LaunchAsync(live, store, start, cancellationToken).ConfigureAwait(false);
        if (error?.Code == AgentErrorCodes.CommandNotFound && argv is null)
        {
            // A sandbox image without bash: the same id is free again (a failed start leaves no records).
            start = start with { Argv = FallbackShell };
            error = await processes.LaunchAsync(live, store, start, cancellationToken).ConfigureAwait(false);
        }
        if (error is not null)
        {
            throw AgentFailures.StartRefused(live, start.Cwd, error, "process");
        }
        return processes.Describe(live.Record.Id, store, start.Id);
    }

    public IReadOnlyList<ProcessInfo> List(string idOrName)
    {
        var record = directory.Find(idOrName);
        var store = processes.Records(record.Id);
        return [.. ProcessManager.Snapshots(store).Where(s => s.Start.Terminal is not null).Select(s => processes.Describe(record.Id, s)).OrderBy(p => p.StartedAt)];
    }

    public ProcessInfo Get(string idOrName, string shell)
    {
        var record = directory.Find(idOrName);
        var store = processes.Records(record.Id);
        return processes.Describe(record.Id, store, Resolve(store, shell));
    }

    /// <summary>
    /// A shell resolved once for a client that drives it for a while (an attached terminal): input and
    /// resizes then go to the agent without looking the sandbox up again.
    /// </summary>
    public async Task<ShellTarget> TargetAsync(string idOrName, string shell, CancellationToken cancellationToken = default)
    {
        var live = await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false);
        return new ShellTarget(live, Resolve(processes.Records(live.Record.Id), shell));
    }

    /// <summary>Writes <paramref name="input"/> to the shell's terminal, as if typed.</summary>
    public async Task WriteInputAsync(string idOrName, string shell, Stream input, CancellationToken cancellationToken = default)
    {
        var target = await TargetAsync(idOrName, shell, cancellationToken).ConfigureAwait(false);
        await processes.WriteStdinAsync(target.Live.Record.Id, target.Id, input, eof: false, cancellationToken).ConfigureAwait(false);
    }

    public static Task WriteInputAsync(ShellTarget target, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        ProcessRequests.SendAsync(target.Live, target.Id, FrameKind.ProcessInput, new ProcessInput(target.Id, data.ToArray(), Eof: false),
            AgentJsonContext.Default.ProcessInput, cancellationToken);

    public async Task<ProcessInfo> ResizeAsync(string idOrName, string shell, int cols, int rows, CancellationToken cancellationToken = default)
    {
        ShellSize(cols, rows);
        var target = await TargetAsync(idOrName, shell, cancellationToken).ConfigureAwait(false);
        await ResizeAsync(target, cols, rows, cancellationToken).ConfigureAwait(false);
        return processes.Describe(target.Live.Record.Id, processes.Records(target.Live.Record.Id), target.Id);
    }

    /// <summary>Sets the terminal's size; the kernel sends SIGWINCH to whatever runs in its foreground.</summary>
    /// <exception cref="HutchException">invalid_terminal_size, or process_not_running once the shell has ended.</exception>
    public static Task ResizeAsync(ShellTarget target, int cols, int rows, CancellationToken cancellationToken)
    {
        ShellSize(cols, rows);
        return ProcessRequests.SendAsync(target.Live, target.Id, FrameKind.ProcessResize, new ProcessResize(target.Id, cols, rows),
            AgentJsonContext.Default.ProcessResize, cancellationToken);
    }

    /// <summary>
    /// INT goes to the terminal's foreground process group, as Ctrl-C would (the command running
    /// is interrupted, the shell lives on); TERM, HUP and KILL go to the shell's whole tree.
    /// </summary>
    public async Task<ProcessInfo> SignalAsync(string idOrName, string shell, string signal, CancellationToken cancellationToken = default)
    {
        var number = ShellSignals.Parse(signal);
        var target = await TargetAsync(idOrName, shell, cancellationToken).ConfigureAwait(false);
        await ProcessRequests.SendAsync(target.Live, target.Id, FrameKind.ProcessSignal,
            new ProcessSignal(target.Id, number, Foreground: number == Hutch.Linux.Processes.SIGINT), AgentJsonContext.Default.ProcessSignal, cancellationToken).ConfigureAwait(false);
        return processes.Describe(target.Live.Record.Id, processes.Records(target.Live.Record.Id), target.Id);
    }

    /// <summary>
    /// Closes a shell as a terminal hang-up does: SIGHUP to its whole tree, SIGKILL to what is left
    /// after the grace. Returns once it has ended; its records (exit state and output) stay.
    /// </summary>
    public async Task<ProcessInfo> CloseAsync(string idOrName, string shell, long? graceMs = null, CancellationToken cancellationToken = default)
    {
        var record = directory.Find(idOrName);
        var id = Resolve(processes.Records(record.Id), shell);
        return await processes.KillAsync(record.Id, id, new KillRequest("SIGHUP", graceMs ?? DefaultShellCloseGraceMs), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Refuses a size no terminal has (invalid_terminal_size), before any work is done for it.</summary>
    public static void ValidateSize(int cols, int rows) => ShellSize(cols, rows);

    private static (int Cols, int Rows) ShellSize(int cols, int rows) =>
        cols is < 1 or > MaxShellDimension || rows is < 1 or > MaxShellDimension
            ? throw new HutchException(ErrorCodes.InvalidTerminalSize,
                $"A terminal is 1-{MaxShellDimension} columns by 1-{MaxShellDimension} rows; {cols}x{rows} is not. Send the size of the terminal that shows the shell, e.g. cols 80, rows 24.")
            : (cols, rows);

    /// <summary>A shell's id, or the id of the newest shell with that name.</summary>
    private static string Resolve(ProcessRecordStore store, string shell)
    {
        if (ProcessRecords.IsValidId(shell) && store.Read(shell) is { Start.Terminal: not null })
        {
            return shell;
        }
        return ProcessManager.Snapshots(store).Where(s => s.Start.Terminal is not null && s.Start.Name == shell)
            .OrderByDescending(s => s.Start.StartedAtMs).FirstOrDefault()?.Start.Id
            ?? throw new HutchException(ErrorCodes.ShellNotFound, $"No shell of this sandbox has the id or name '{shell}'. List them with GET …/shells, or open one with POST …/shells (or `hutch shell ID`).");
    }
}
