using System.Text.Json.Serialization;

namespace Hutch.Protocol.Api;

/// <summary>Body of <c>POST /v1/sandboxes/{id}/exec</c> and <c>…/exec/stream</c>. Give exactly one of Argv or Command.</summary>
/// <param name="Argv">Program and arguments, run without a shell.</param>
/// <param name="Command">A shell command line, run as <c>/bin/sh -c Command</c>.</param>
/// <param name="Cwd">Working directory, relative to /workspace or absolute inside it; default the sandbox's.</param>
/// <param name="Env">Extra environment, over the sandbox's.</param>
/// <param name="Stdin">Text given on stdin (UTF-8). Leave out for /dev/null.</param>
/// <param name="StdinBase64">Bytes given on stdin, base64. At most one of Stdin and StdinBase64.</param>
/// <param name="TimeoutMs">Wall-clock limit (1-86400000); the whole process tree is killed past it. Default 60000 for exec, none for streams.</param>
/// <param name="MaxOutputBytes">Bytes of stdout+stderr kept (1-1073741824); the rest is dropped and Truncated set. Default 16 MiB.</param>
/// <param name="Encoding">"utf8" (default: invalid bytes become U+FFFD) or "base64" for stdout/stderr of the sync result.</param>
/// <param name="KillOnDisconnect">Streams only: kill the command when the client goes away. Default false: it runs on.</param>
public sealed record ExecRequest(
    string[]? Argv = null,
    string? Command = null,
    string? Cwd = null,
    Dictionary<string, string>? Env = null,
    string? Stdin = null,
    string? StdinBase64 = null,
    long? TimeoutMs = null,
    long? MaxOutputBytes = null,
    string? Encoding = null,
    bool? KillOnDisconnect = null);

/// <summary>Result of a synchronous exec.</summary>
/// <param name="ExitCode">Exit status, or null when a signal ended the command.</param>
/// <param name="Signal">Name of the signal that ended it ("SIGKILL"), or null.</param>
/// <param name="Stdout">What the command wrote to stdout, in <paramref name="Encoding"/>.</param>
/// <param name="Stderr">What the command wrote to stderr, in <paramref name="Encoding"/>.</param>
/// <param name="Encoding">How Stdout and Stderr hold the bytes: "utf8" or "base64", as asked.</param>
/// <param name="Truncated">Output past MaxOutputBytes was dropped.</param>
/// <param name="TimedOut">The timeout ended the command (its whole process tree was killed).</param>
/// <param name="OomKilled">The kernel's OOM killer ended a process of this command (memory limit).</param>
/// <param name="DurationMs">How long the command ran, from its spawn to its exit, in milliseconds.</param>
/// <param name="Killed">Set when Hutch killed the command's tree (on timeout): what it killed and how; left out otherwise.</param>
/// <param name="FullOutput">Set when Truncated: where all of the output is kept, to be read afterwards.</param>
/// <param name="StdoutTail">When Truncated: the last bytes of stdout (up to 64 KiB) that Stdout does not hold, encoded as Stdout is; else null.</param>
/// <param name="StderrTail">The same for stderr.</param>
/// <param name="NetworkRefusals">Connections and name lookups of the sandbox refused (or failed) while the command ran, the first 20 (docs/network.md); left out when none.</param>
/// <param name="Artifacts">Files the sandbox's artifact globs match that are new or changed since the last look, kept (docs/artifacts.md); left out when none.</param>
public sealed record ExecResult(
    int? ExitCode,
    string? Signal,
    string Stdout,
    string Stderr,
    string Encoding,
    bool Truncated,
    bool TimedOut,
    bool OomKilled,
    long DurationMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ExecKilled? Killed = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ExecFullOutput? FullOutput = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StdoutTail = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StderrTail = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<NetworkEvent>? NetworkRefusals = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ArtifactInfo>? Artifacts = null);

/// <summary>
/// All of a truncated command's output, kept in the sandbox's disk quota after the result was
/// cut at maxOutputBytes: read it with <c>GET /v1/sandboxes/{id}/exec/outputs/{Id}/stdout</c> (or
/// <c>stderr</c>) from any offset, or <c>hutch output ID OUTPUT</c>. Kept until the sandbox is
/// deleted; the last 8 per sandbox (docs/exec.md#large-outputs).
/// </summary>
/// <param name="Id">The kept output's id.</param>
/// <param name="StdoutBytes">Bytes of stdout kept: the whole of it when Complete.</param>
/// <param name="StderrBytes">Bytes of stderr kept.</param>
/// <param name="Complete">False when not everything could be kept (past 1 GiB, or the sandbox's disk quota full); DroppedBytes says how much is missing, all from the end.</param>
/// <param name="DroppedBytes">Bytes not kept.</param>
/// <param name="Stdout">The route that reads stdout: <c>/v1/sandboxes/{id}/exec/outputs/{Id}/stdout</c>.</param>
/// <param name="Stderr">The route that reads stderr.</param>
public sealed record ExecFullOutput(string Id, long StdoutBytes, long StderrBytes, bool Complete, long DroppedBytes, string Stdout, string Stderr);

/// <summary>What Hutch killed when a command ran past its timeout.</summary>
/// <param name="Reason">Why: "timeout" (the only reason so far).</param>
/// <param name="Signal">The signal sent to every process of the tree: "SIGKILL".</param>
/// <param name="ProcessGroup">
/// The command's process group, inside the sandbox: its pid (the start event's), since every
/// command starts in a session and process group of its own.
/// </param>
/// <param name="Processes">How many processes were killed: the group's and session's, and descendants that left them.</param>
public sealed record ExecKilled(string Reason, string Signal, int ProcessGroup, int Processes);

public static class ExecKillReasons
{
    /// <summary>The command ran past its timeoutMs.</summary>
    public const string Timeout = "timeout";
}

/// <summary>
/// One line of the NDJSON stream of <c>…/exec/stream</c>, told apart by its "type" member: start,
/// stdout, stderr (bytes, base64 on the wire, binary safe), exit (the result fields) or error (code
/// and message). A closed set: switch over the five records.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ExecStartEvent), ExecEventTypes.Start)]
[JsonDerivedType(typeof(ExecStdoutEvent), ExecEventTypes.Stdout)]
[JsonDerivedType(typeof(ExecStderrEvent), ExecEventTypes.Stderr)]
[JsonDerivedType(typeof(ExecExitEvent), ExecEventTypes.Exit)]
[JsonDerivedType(typeof(ExecErrorEvent), ExecEventTypes.Error)]
public abstract record ExecEvent
{
    private protected ExecEvent()
    {
    }

    /// <summary>The event's "type" on the wire (one of <see cref="ExecEventTypes"/>), for logs and messages.</summary>
    [JsonIgnore]
    public string Type => this switch
    {
        ExecStartEvent => ExecEventTypes.Start,
        ExecStdoutEvent => ExecEventTypes.Stdout,
        ExecStderrEvent => ExecEventTypes.Stderr,
        ExecExitEvent => ExecEventTypes.Exit,
        _ => ExecEventTypes.Error,
    };
}

/// <summary>The command runs, as <paramref name="Pid"/> inside the sandbox.</summary>
/// <param name="Pid">The command's pid inside the sandbox.</param>
public sealed record ExecStartEvent(int Pid) : ExecEvent;

/// <summary>Bytes the command wrote to stdout.</summary>
/// <param name="Data">The bytes, base64 on the wire.</param>
public sealed record ExecStdoutEvent(ReadOnlyMemory<byte> Data) : ExecEvent;

/// <summary>Bytes the command wrote to stderr.</summary>
/// <param name="Data">The bytes, base64 on the wire.</param>
public sealed record ExecStderrEvent(ReadOnlyMemory<byte> Data) : ExecEvent;

/// <summary>The command ended: the same fields as a sync <see cref="ExecResult"/> without its output.</summary>
/// <param name="ExitCode">Exit status, or null when a signal ended the command.</param>
/// <param name="Signal">Name of the signal that ended it ("SIGKILL"), or null.</param>
/// <param name="Truncated">Output past MaxOutputBytes was dropped.</param>
/// <param name="TimedOut">The timeout ended the command (its whole process tree was killed).</param>
/// <param name="OomKilled">The kernel's OOM killer ended a process of this command (memory limit).</param>
/// <param name="DurationMs">How long the command ran, from its spawn to its exit, in milliseconds.</param>
/// <param name="Killed">Set when Hutch killed the command's tree (on timeout): what it killed and how; left out otherwise.</param>
/// <param name="FullOutput">When Truncated: where all of the output is kept (the stream dropped what was past maxOutputBytes too).</param>
/// <param name="NetworkRefusals">Connections and name lookups of the sandbox refused (or failed) while the command ran, the first 20 (docs/network.md); left out when none.</param>
/// <param name="Artifacts">Files the sandbox's artifact globs match that are new or changed since the last look, kept (docs/artifacts.md); left out when none.</param>
public sealed record ExecExitEvent(int? ExitCode, string? Signal, bool Truncated, bool TimedOut, bool OomKilled, long DurationMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ExecKilled? Killed = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ExecFullOutput? FullOutput = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<NetworkEvent>? NetworkRefusals = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ArtifactInfo>? Artifacts = null) : ExecEvent;

/// <summary>The command could not run, or its sandbox went away: a stable code and what to do.</summary>
/// <param name="Code">The stable error code, as in a problem's code.</param>
/// <param name="Message">What went wrong and what to do, for a person.</param>
public sealed record ExecErrorEvent(string Code, string Message) : ExecEvent;

public static class ExecEventTypes
{
    public const string Start = "start";
    public const string Stdout = "stdout";
    public const string Stderr = "stderr";
    public const string Exit = "exit";
    public const string Error = "error";
}

/// <summary>Sizes an exec request is held to, the same in the daemon, the agent and the CLI.</summary>
public static class ExecLimits
{
    /// <summary>
    /// The most stdin an exec is given whole (16 MiB): it is handed to the command before the command
    /// reads it, so it is held meanwhile. Larger input goes through a file (files API, then `cmd &lt; file`).
    /// </summary>
    public const long MaxStdinBytes = 16L << 20;
}
