using System.ComponentModel;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`start`, `logs`, `kill` and `processes`: commands that run in the background (servers, watchers, long builds).</summary>
internal static class ProcessTools
{
    public static McpServerTool Start(McpSession session) => ToolFactory.Create<ProcessAnswer>("start", "Start a background command",
        "Start a shell command in the background and return at once with its id: for a server, a watcher or a long build. " +
        "Read what it prints with `logs`, stop it with `kill`. It runs until it ends, is killed, or the sandbox goes.",
        ToolHints.Runs,
        async ([Description("The command line, run by /bin/sh -c, e.g. `python3 -m http.server 8000`")] string command,
            [Description("A name for it, unique among the sandbox's processes")] string? name = null,
            [Description("Working directory, relative to /workspace")] string? cwd = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var started = await session.Client.StartProcessAsync(id, new StartProcessRequest(Command: command, Cwd: cwd, Name: name), cancellationToken).ConfigureAwait(false);
            var answer = ProcessAnswer.Of(id, started);
            return Answers.Of(answer, $"started {answer.Process} (pid {started.Pid}) in {id}: read its output with logs(process: \"{answer.Process}\")");
        }).ConfigureAwait(false));

    public static McpServerTool Logs(McpSession session) => ToolFactory.Create<LogsAnswer>("logs", "Read a background command's output",
        $"Read what a background command printed, from a cursor (0: from the start), up to {session.Settings.MaxOutputBytes / 1024} KiB a call; " +
        "the answer gives the cursor to read on from, whether more is already there, and the command's state and exit status.",
        ToolHints.Reads,
        async ([Description("The process's id or name, from `start`")] string process,
            [Description("Where to read from: 0, or the cursor the last answer gave")] long cursor = 0,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var logs = await session.Client.ReadProcessLogsAsync(id, process, cursor, session.Settings.MaxOutputBytes, cancellationToken: cancellationToken).ConfigureAwait(false);
            var state = ProcessAnswer.Of(id, logs.Process);
            var answer = new LogsAnswer(id, state.Process, state.State, state.ExitCode, logs.Stdout, logs.Stderr, logs.Cursor, logs.More);
            var text = $"{state.Process}: {state.State}{(state.ExitCode is { } code ? $", exit {code}" : "")}; cursor {logs.Cursor}{(logs.More ? " (more to read)" : "")}";
            if (logs.Stdout.Length > 0)
            {
                text += $"\n--- stdout\n{logs.Stdout}";
            }
            if (logs.Stderr.Length > 0)
            {
                text += $"\n--- stderr\n{logs.Stderr}";
            }
            return Answers.Of(answer, text);
        }).ConfigureAwait(false));

    public static McpServerTool Kill(McpSession session) => ToolFactory.Create<ProcessAnswer>("kill", "Stop a background command",
        "Stop a background command and everything it started (SIGTERM, then SIGKILL after a grace period).",
        ToolHints.Replaces,
        async ([Description("The process's id or name")] string process,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var killed = await session.Client.KillProcessAsync(id, process, cancellationToken: cancellationToken).ConfigureAwait(false);
            var answer = ProcessAnswer.Of(id, killed);
            return Answers.Of(answer, $"{answer.Process}: {answer.State}");
        }).ConfigureAwait(false));

    public static McpServerTool List(McpSession session) => ToolFactory.Create<ProcessesAnswer>("processes", "List background commands",
        "List the sandbox's background commands: id, name, state, exit status and command line.",
        ToolHints.Reads,
        async ([Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var all = await session.Client.ListProcessesAsync(id, cancellationToken).ConfigureAwait(false);
            var answer = new ProcessesAnswer(id, [.. all.Select(p => ProcessAnswer.Of(id, p))]);
            var text = answer.Processes.Count == 0 ? "no background commands" : string.Join('\n', answer.Processes.Select(p =>
                $"{p.Process}  {p.State}{(p.ExitCode is { } c ? $" (exit {c})" : "")}  {p.Command}"));
            return Answers.Of(answer, text);
        }).ConfigureAwait(false));
}

/// <summary>A background command.</summary>
/// <param name="Process">Its name, or its id when it has none: what `logs` and `kill` take.</param>
/// <param name="State">running, exited or killed.</param>
/// <param name="ExitCode">Its exit status once it ended.</param>
/// <param name="Command">Its command line.</param>
public sealed record ProcessAnswer(string Sandbox, string Process, string State, int? ExitCode, string Command)
{
    internal static ProcessAnswer Of(string sandbox, ProcessInfo p) =>
        new(sandbox, p.Name ?? p.Id, p.State, p.ExitCode, p.Argv is ["/bin/sh", "-c", var line] ? line : string.Join(' ', p.Argv));
}

/// <summary>Output of a background command, from a cursor.</summary>
/// <param name="Cursor">Where to read on from.</param>
/// <param name="More">More output is already there to read.</param>
public sealed record LogsAnswer(string Sandbox, string Process, string State, int? ExitCode, string Stdout, string Stderr, long Cursor, bool More);

/// <summary>The sandbox's background commands.</summary>
public sealed record ProcessesAnswer(string Sandbox, IReadOnlyList<ProcessAnswer> Processes);
