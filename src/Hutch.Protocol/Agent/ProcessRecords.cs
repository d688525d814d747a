namespace Hutch.Protocol.Agent;

/// <summary>
/// The on-disk layout of durable processes, shared by the agent (which writes it) and the daemon
/// (which reads it, also after a restart). Each process has a directory named by its id in the
/// sandbox's records directory, a host directory never mounted inside the sandbox:
/// <c>start.json</c> (<see cref="ProcessStartRecord"/>), the log segments <c>log.&lt;offset&gt;</c>, and
/// <c>terminal.json</c> (<see cref="TerminalRecord"/>, a process on a pseudo-terminal after its first
/// resize), and <c>exit.json</c> (<see cref="ProcessExitRecord"/>), written only after every byte of output is in
/// the log. A log is a sequence of frames (<see cref="FrameCodec"/> headers, kind Stdout or Stderr)
/// whose channel field holds the low 32 bits of the frame's own offset, so a cursor that does not
/// point at a frame is recognised. Segments are named by the offset of their first frame (20
/// digits, so they sort); the oldest is deleted when the log outgrows its cap.
/// </summary>
public static class ProcessRecords
{
    public const string StartFile = "start.json";
    public const string ExitFile = "exit.json";
    public const string TerminalFile = "terminal.json";
    public const string SegmentPrefix = "log.";

    public static string SegmentName(long offset) => SegmentPrefix + offset.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The offset a segment's name gives, or -1 for names that are not segments.</summary>
    public static long SegmentOffset(string name) =>
        name.StartsWith(SegmentPrefix, StringComparison.Ordinal) && name.Length == SegmentPrefix.Length + 20 &&
        long.TryParse(name.AsSpan(SegmentPrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var offset)
            ? offset
            : -1;

    /// <summary>Whether a process id is safe as a directory name and in URLs: 1-64 of [a-z0-9_-].</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= 64 } && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');
}

/// <summary><c>start.json</c>: what was started, and when. The environment is never recorded (it may hold secrets).</summary>
/// <param name="Terminal">Set when the process runs on a pseudo-terminal (a shell): its size at the start.</param>
/// <param name="Origin"><see cref="ProcessOrigins.Exec"/> for a command that was started by an exec and carried on as a background process when the daemon went away; null for a process started as one.</param>
public sealed record ProcessStartRecord(string Id, string? Name, string[] Argv, string Cwd, int Pid, long StartedAtMs, long MaxLogBytes,
    TerminalRecord? Terminal = null, string? Origin = null);

public static class ProcessOrigins
{
    /// <summary>An exec (sync or streamed) whose connection closed while it ran: the daemon stopped or died under it.</summary>
    public const string Exec = "exec";
}

/// <summary>The window size of a process's pseudo-terminal: in <c>start.json</c> as it began, in <c>terminal.json</c> as it is now.</summary>
public sealed record TerminalRecord(int Cols, int Rows);

/// <summary><c>exit.json</c>: how the process ended, written once all its output is in the log.</summary>
/// <param name="LogBytes">The log's final length: the cursor of its end.</param>
public sealed record ProcessExitRecord(int? ExitCode, int? Signal, bool TimedOut, long EndedAtMs, long DurationMs, long LogBytes);
