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
/// <param name="OomKilled">The kernel's OOM killer ended a process of this command (memory limit).</param>
public sealed record ExecResult(
    int? ExitCode,
    string? Signal,
    string Stdout,
    string Stderr,
    string Encoding,
    bool Truncated,
    bool TimedOut,
    bool OomKilled,
    long DurationMs);

/// <summary>
/// One line of the NDJSON stream of <c>…/exec/stream</c>. <see cref="Type"/> is start, stdout, stderr, exit or error;
/// stdout/stderr carry <see cref="Data"/> as base64 (binary safe); exit carries the result fields; error carries Code and Message.
/// </summary>
public sealed record ExecEvent(
    string Type,
    int? Pid = null,
    string? Data = null,
    int? ExitCode = null,
    string? Signal = null,
    bool? Truncated = null,
    bool? TimedOut = null,
    bool? OomKilled = null,
    long? DurationMs = null,
    string? Code = null,
    string? Message = null);

public static class ExecEventTypes
{
    public const string Start = "start";
    public const string Stdout = "stdout";
    public const string Stderr = "stderr";
    public const string Exit = "exit";
    public const string Error = "error";
}
