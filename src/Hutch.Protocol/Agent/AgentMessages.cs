using Hutch.Protocol.Redaction;

namespace Hutch.Protocol.Agent;

/// <summary>A one-shot command the daemon asks the agent to run, its output as frames on the channel (payload of <see cref="FrameKind.ExecStart"/>).</summary>
/// <param name="Argv">Program and arguments; argv[0] is looked up in PATH from <paramref name="Env"/> when it has no slash.</param>
/// <param name="Env">The whole environment of the command (the daemon merges sandbox and exec env).</param>
/// <param name="Cwd">Absolute working directory inside the sandbox.</param>
/// <param name="TimeoutMs">Wall-clock limit; 0 means none. On expiry the whole process tree is killed.</param>
/// <param name="MaxOutputBytes">Bytes of stdout+stderr forwarded; the rest is drained and dropped.</param>
/// <param name="HasStdin">False: stdin is /dev/null. True: stdin is a pipe fed by Stdin frames until StdinEof.</param>
/// <param name="ScriptBytes">
/// 0, or the length of a script that follows as <see cref="FrameKind.Script"/> frames: the agent
/// keeps it in a memory file and spawns the command only once it has all of it, with that file open
/// on descriptor <see cref="ExecScript.Fd"/> (argv names it, as <c>/dev/fd/9</c>). At most
/// <see cref="ExecScript.MaxBytes"/>. What no argument can carry (the kernel takes 128 KiB per
/// argument): a shell line of tens of MiB, a heredoc written by a model.
/// </param>
/// <param name="Redact">
/// The secret values the sandbox's commands hold (env and file kinds, every version): whatever of
/// the command's output the agent writes to a log on disk is redacted first, so no log holds a
/// value even when no daemon reads it. Null or empty when the sandbox holds none.
/// </param>
public sealed record ExecStart(
    string[] Argv,
    Dictionary<string, string> Env,
    string Cwd,
    long TimeoutMs,
    long MaxOutputBytes,
    bool HasStdin,
    long ScriptBytes = 0,
    RedactedSecret[]? Redact = null);

/// <summary>A one-shot command's script, sent apart from its argv (<see cref="ExecStart.ScriptBytes"/>).</summary>
public static class ExecScript
{
    /// <summary>The descriptor the command finds its script on.</summary>
    public const int Fd = 9;

    /// <summary>The longest script: 64 MiB, held in the sandbox's memory until the command has read it.</summary>
    public const long MaxBytes = 64L << 20;
}

/// <summary>
/// A durable (background) process the daemon asks the agent to start (payload of
/// <see cref="FrameKind.ProcessStart"/>): its output goes to a log in the agent's records directory
/// instead of frames, the channel ends with Started, and later requests name it by <paramref name="Id"/>.
/// </summary>
/// <param name="Name">Optional name, recorded with it.</param>
/// <param name="Argv">As in <see cref="ExecStart"/>, and so are Env, Cwd, TimeoutMs and HasStdin.</param>
/// <param name="MaxLogBytes">Bytes of log kept on disk (older output is dropped in halves).</param>
/// <param name="Terminal">
/// Set for a shell: the process runs on a new pseudo-terminal of this size (its stdin, stdout and
/// stderr, and its controlling terminal); output is all Stdout and input goes to the terminal.
/// </param>
public sealed record ProcessStart(
    string Id,
    string? Name,
    string[] Argv,
    Dictionary<string, string> Env,
    string Cwd,
    long TimeoutMs,
    bool HasStdin,
    long MaxLogBytes,
    TerminalRecord? Terminal = null,
    RedactedSecret[]? Redact = null)
{
    /// <summary>The command part, as a one-shot start would give it (no output cap: the log has its own).</summary>
    public ExecStart Command => new(Argv, Env, Cwd, TimeoutMs, 0, HasStdin, Redact: Redact);
}

/// <summary>Payload of <see cref="FrameKind.Started"/>.</summary>
public sealed record ExecStarted(int Pid);

/// <summary>Payload of <see cref="FrameKind.Exited"/>: how the command ended.</summary>
/// <param name="ExitCode">Exit status when the process exited normally, else null.</param>
/// <param name="Signal">Signal number that killed it, else null.</param>
/// <param name="KilledProcesses">On timeout: how many processes of the command's tree (its session and process group, whose id is its pid, and their descendants) the agent SIGKILLed.</param>
public sealed record ExecExited(int? ExitCode, int? Signal, bool TimedOut, bool Truncated, long DurationMs, int KilledProcesses = 0);

/// <summary>Payload of <see cref="FrameKind.Kill"/>: signal the command's whole process tree.</summary>
public sealed record ExecKill(int Signal);

/// <summary>Payload of <see cref="FrameKind.Error"/>: the request on this channel failed.</summary>
public sealed record AgentError(string Code, string Message);

/// <summary>Payload of <see cref="FrameKind.Pong"/>.</summary>
public sealed record AgentHello(string Version, int Pid, long UptimeMs);

/// <summary>Payload of <see cref="FrameKind.ProcessInput"/>: bytes for a durable process's stdin, and/or its end.</summary>
public sealed record ProcessInput(string Id, byte[]? Data, bool Eof);

/// <summary>
/// Payload of <see cref="FrameKind.ProcessSignal"/>: signal a durable process's whole tree. With
/// <paramref name="GraceMs"/> &gt; 0 it is a kill: the signal first, SIGKILL for what is left after the grace.
/// With <paramref name="ChildrenOnly"/> the process itself is spared (a session's shell, whose command timed out).
/// With <paramref name="Foreground"/> the signal goes only to the foreground process group of the
/// process's terminal, as a key like Ctrl-C sends it (processes with a pseudo-terminal only).
/// </summary>
public sealed record ProcessSignal(string Id, int Signal, long GraceMs = 0, bool ChildrenOnly = false, bool Foreground = false);

/// <summary>Payload of <see cref="FrameKind.ProcessResize"/>: a new window size for a durable process's pseudo-terminal.</summary>
public sealed record ProcessResize(string Id, int Cols, int Rows);

/// <summary>
/// Payload of <see cref="FrameKind.SecretFile"/>: write a secret's value to
/// <c>/run/secrets/NAME</c> (a tmpfs), mode 0400, replacing what is there in one rename. Answered Ok
/// or Error.
/// </summary>
/// <param name="Name">The file's name: 1-128 of letters, digits, '.', '_' and '-', not starting with '.'.</param>
public sealed record SecretFile(string Name, byte[] Value)
{
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 128 } && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
