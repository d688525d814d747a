using System.Text;

namespace Hutch.Daemon.Http;

/// <summary>
/// The one place the engine's <see cref="CommandEvent"/>s and collected output become the API's
/// types: exec events, log events, and a sync result's strings (UTF-8 text or base64). The events
/// keep bytes; the JSON serializer writes them as base64 on the wire.
/// </summary>
public static class WireEvents
{
    public static ExecEvent ToExecEvent(CommandEvent e) => e switch
    {
        CommandStarted s => new ExecStartEvent(s.Pid),
        CommandOutput { Stream: OutputStream.Stdout } o => new ExecStdoutEvent(o.Data),
        CommandOutput o => new ExecStderrEvent(o.Data),
        CommandExited x => new ExecExitEvent(x.ExitCode, x.Signal, x.Truncated, x.TimedOut, x.OomKilled, x.DurationMs, x.Killed, x.FullOutput, x.NetworkRefusals, x.Artifacts),
        CommandFailed f => new ExecErrorEvent(f.Error.Code, f.Error.Message),
        _ => throw new InvalidOperationException($"an exec does not produce {e.GetType().Name}"),
    };

    public static LogEvent ToLogEvent(LogEntry entry) => entry.Event switch
    {
        CommandOutput { Stream: OutputStream.Stdout } o => new LogStdoutEvent(entry.Cursor, o.Data),
        CommandOutput o => new LogStderrEvent(entry.Cursor, o.Data),
        OutputTruncated t => new LogTruncatedEvent(entry.Cursor, t.DroppedBytes),
        ProcessEnded p => new LogExitEvent(entry.Cursor, p.Process),
        _ => throw new InvalidOperationException($"a log does not hold {entry.Event.GetType().Name}"),
    };

    /// <summary>A collected command as the sync result with its output as strings: for in-process callers that set a small cap themselves.</summary>
    public static ExecResult ToResult(CollectedExec result) =>
        new(result.ExitCode, result.Signal, Text(result.Stdout, result.Encoding), Text(result.Stderr, result.Encoding), result.Encoding,
            result.Truncated, result.TimedOut, result.OomKilled, result.DurationMs, result.Killed, result.FullOutput,
            Tail(result.StdoutTail, result.Encoding), Tail(result.StderrTail, result.Encoding), result.NetworkRefusals, result.Artifacts);

    /// <summary>A tail in the result's encoding, as its output is.</summary>
    public static string? Tail(byte[]? tail, string encoding) => tail is null
        ? null
        : encoding == "base64" ? Convert.ToBase64String(tail) : Encoding.UTF8.GetString(tail);

    private static string Text(OutputBuffer output, string encoding) => encoding == "base64"
        ? Convert.ToBase64String(output.ToArray())
        : Encoding.UTF8.GetString(output.ToArray());

    public static async IAsyncEnumerable<ExecEvent> ToExecEvents(IAsyncEnumerable<CommandEvent> events)
    {
        await foreach (var e in events.ConfigureAwait(false))
        {
            yield return ToExecEvent(e);
        }
    }

    public static async IAsyncEnumerable<LogEvent> ToLogEvents(IAsyncEnumerable<LogEntry> entries)
    {
        await foreach (var entry in entries.ConfigureAwait(false))
        {
            yield return ToLogEvent(entry);
        }
    }
}
