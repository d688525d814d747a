using System.Text.Json.Serialization;

namespace Hutch.Protocol.Api;

/// <summary>Body of <c>POST /v1/sandboxes/{id}/processes</c>: a background process. Give exactly one of Argv or Command.</summary>
/// <param name="Argv">Program and arguments, run without a shell.</param>
/// <param name="Command">A shell command line, run as <c>/bin/sh -c Command</c>.</param>
/// <param name="Cwd">Working directory, relative to /workspace or absolute inside it; default the sandbox's.</param>
/// <param name="Env">Extra environment, over the sandbox's.</param>
/// <param name="Name">Optional name to find it by (1-64 of a-z, 0-9, '-', '_'); need not be unique: the newest wins lookups.</param>
/// <param name="Stdin">True: stdin is a pipe written with <c>…/stdin</c> until closed. Default false: /dev/null.</param>
/// <param name="TimeoutMs">Wall-clock limit (1-86400000); the whole process tree is killed past it. Default none.</param>
/// <param name="MaxLogBytes">Bytes of output kept on disk (65536-1073741824, default 16 MiB); older output is dropped first.</param>
/// <param name="Secrets">Stored secrets this process gets as environment variables, besides the sandbox's (docs/secrets.md); redacted as the sandbox's are.</param>
public sealed record StartProcessRequest(
    string[]? Argv = null,
    string? Command = null,
    string? Cwd = null,
    Dictionary<string, string>? Env = null,
    string? Name = null,
    bool? Stdin = null,
    long? TimeoutMs = null,
    long? MaxLogBytes = null,
    SecretUse[]? Secrets = null);

/// <summary>A background process as it stands.</summary>
/// <param name="Id">Its id, which the processes routes take (so does its name).</param>
/// <param name="Name">The name given at start, if any.</param>
/// <param name="State">starting, running, exited (with ExitCode), killed (with Signal) or failed (see Error).</param>
/// <param name="Argv">What runs: the program and its arguments (a Command as /bin/sh -c …).</param>
/// <param name="Cwd">Its working directory.</param>
/// <param name="Pid">Its pid inside the sandbox.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="EndedAt">When it ended; null while it runs.</param>
/// <param name="ExitCode">Its exit status once exited; null while it runs or when a signal ended it.</param>
/// <param name="Signal">Name of the signal that ended it ("SIGTERM"), or null.</param>
/// <param name="TimedOut">Its timeout ended it.</param>
/// <param name="DurationMs">How long it ran, in milliseconds, once ended.</param>
/// <param name="LogBytes">The cursor of the end of its log so far.</param>
/// <param name="Error">Why it is failed: the sandbox stopped before its exit could be recorded.</param>
/// <param name="Terminal">Set for a shell (a process on a pseudo-terminal): the terminal's current size.</param>
/// <param name="Origin">"exec" for a command an exec started that carried on as a background process when its daemon stopped or died (named exec-PID); null otherwise.</param>
public sealed record ProcessInfo(
    string Id,
    string? Name,
    string State,
    string[] Argv,
    string Cwd,
    int Pid,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt = null,
    int? ExitCode = null,
    string? Signal = null,
    bool TimedOut = false,
    long? DurationMs = null,
    long LogBytes = 0,
    string? Error = null,
    TerminalSize? Terminal = null,
    string? Origin = null);

/// <summary>Answer of <c>GET …/processes</c>.</summary>
/// <param name="Processes">The sandbox's background processes, running and ended.</param>
public sealed record ProcessList(ProcessInfo[] Processes);

public static class ProcessStates
{
    public const string Starting = "starting";
    public const string Running = "running";
    public const string Exited = "exited";
    public const string Killed = "killed";
    public const string Failed = "failed";
}

/// <summary>Body of <c>…/signal</c>: one of SIGHUP, SIGINT, SIGQUIT, SIGKILL, SIGUSR1, SIGUSR2, SIGTERM, SIGCONT, SIGSTOP, SIGTSTP, SIGWINCH ("INT" works too).</summary>
/// <param name="Signal">The signal's name: SIGTERM, or TERM.</param>
public sealed record SignalRequest(string Signal);

/// <summary>Body of <c>…/kill</c>: Signal (default SIGTERM) to the whole tree, SIGKILL to what is left after GraceMs (0-60000, default 5000).</summary>
/// <param name="Signal">The first signal, to the whole process tree; default SIGTERM.</param>
/// <param name="GraceMs">Milliseconds before SIGKILL ends what is left (0-60000, default 5000).</param>
public sealed record KillRequest(string? Signal = null, long? GraceMs = null);

/// <summary>
/// A log read without following (<c>GET …/logs</c>): output from a cursor up to the end so far.
/// <see cref="Cursor"/> is where the next read starts; <see cref="Dropped"/> counts bytes of log
/// that the size cap discarded before the requested cursor.
/// </summary>
/// <param name="Stdout">Its stdout from the cursor, in Encoding.</param>
/// <param name="Stderr">Its stderr from the cursor, in Encoding.</param>
/// <param name="Encoding">How Stdout and Stderr hold the bytes: "utf8" or "base64", as asked.</param>
/// <param name="Cursor">Where the next read starts (the cursor query parameter).</param>
/// <param name="Dropped">Bytes of log the size cap discarded before the requested cursor.</param>
/// <param name="More">More log was there than this read returned: read again from Cursor.</param>
/// <param name="Process">The process as it stands.</param>
public sealed record ProcessLogs(string Stdout, string Stderr, string Encoding, long Cursor, long Dropped, bool More, ProcessInfo Process);

/// <summary>
/// One line of <c>GET …/logs/stream</c> (NDJSON), told apart by its "type" member: stdout or stderr
/// carry bytes (base64 on the wire); truncated carries Dropped (bytes of log lost to the size cap);
/// exit carries the process as it ended. Every event carries the Cursor after it: reconnect with it
/// to go on where this left off. A closed set: switch over the four records.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(LogStdoutEvent), LogEventTypes.Stdout)]
[JsonDerivedType(typeof(LogStderrEvent), LogEventTypes.Stderr)]
[JsonDerivedType(typeof(LogTruncatedEvent), LogEventTypes.Truncated)]
[JsonDerivedType(typeof(LogExitEvent), LogEventTypes.Exit)]
public abstract record LogEvent
{
    private protected LogEvent()
    {
    }

    /// <summary>The event's "type" on the wire (one of <see cref="LogEventTypes"/>), for logs and messages.</summary>
    [JsonIgnore]
    public string Type => this switch
    {
        LogStdoutEvent => LogEventTypes.Stdout,
        LogStderrEvent => LogEventTypes.Stderr,
        LogTruncatedEvent => LogEventTypes.Truncated,
        _ => LogEventTypes.Exit,
    };

    /// <summary>Where the log goes on after this event.</summary>
    public abstract long Cursor { get; }
}

/// <summary>Bytes the process wrote to stdout.</summary>
/// <param name="Cursor">Where the log goes on after this event.</param>
/// <param name="Data">The bytes, base64 on the wire.</param>
public sealed record LogStdoutEvent(long Cursor, ReadOnlyMemory<byte> Data) : LogEvent
{
    /// <summary>Where the log goes on after this event: reconnect with it to go on from here.</summary>
    [JsonPropertyOrder(-1)]
    public override long Cursor { get; } = Cursor;
}

/// <summary>Bytes the process wrote to stderr.</summary>
/// <param name="Cursor">Where the log goes on after this event.</param>
/// <param name="Data">The bytes, base64 on the wire.</param>
public sealed record LogStderrEvent(long Cursor, ReadOnlyMemory<byte> Data) : LogEvent
{
    /// <summary>Where the log goes on after this event: reconnect with it to go on from here.</summary>
    [JsonPropertyOrder(-1)]
    public override long Cursor { get; } = Cursor;
}

/// <summary>Log the size cap discarded before this point.</summary>
/// <param name="Cursor">Where the log goes on after this event.</param>
/// <param name="Dropped">Bytes of log lost.</param>
public sealed record LogTruncatedEvent(long Cursor, long Dropped) : LogEvent
{
    /// <summary>Where the log goes on after this event: reconnect with it to go on from here.</summary>
    [JsonPropertyOrder(-1)]
    public override long Cursor { get; } = Cursor;
}

/// <summary>The process ended.</summary>
/// <param name="Cursor">Where the log goes on after this event (its end).</param>
/// <param name="Process">The process as it ended.</param>
public sealed record LogExitEvent(long Cursor, ProcessInfo Process) : LogEvent
{
    /// <summary>Where the log goes on after this event: reconnect with it to go on from here.</summary>
    [JsonPropertyOrder(-1)]
    public override long Cursor { get; } = Cursor;
}

public static class LogEventTypes
{
    public const string Stdout = "stdout";
    public const string Stderr = "stderr";
    public const string Truncated = "truncated";
    public const string Exit = "exit";
}
