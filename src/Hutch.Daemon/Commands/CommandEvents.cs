namespace Hutch.Daemon.Commands;

/// <summary>Which of a command's outputs bytes came from.</summary>
public enum OutputStream
{
    Stdout,
    Stderr,
}

/// <summary>
/// What happens to a command, as the engine tells it: raw bytes and typed facts, never a wire
/// format. A closed hierarchy (its constructor is private to this assembly): the HTTP edge turns each
/// kind into the API's event in one place (Http/WireEvents.cs).
/// </summary>
public abstract record CommandEvent
{
    private protected CommandEvent()
    {
    }
}

/// <summary>The command runs, as this pid inside the sandbox.</summary>
public sealed record CommandStarted(int Pid) : CommandEvent;

/// <summary>Bytes the command wrote to one of its outputs.</summary>
public sealed record CommandOutput(OutputStream Stream, ReadOnlyMemory<byte> Data) : CommandEvent;

/// <summary>Output a size cap dropped before it could be read (a durable log's oldest bytes).</summary>
public sealed record OutputTruncated(long DroppedBytes) : CommandEvent;

/// <summary>A one-shot command ended.</summary>
/// <param name="Killed">What was killed when the command timed out, else null.</param>
/// <param name="FullOutput">When truncated: where all of the output is kept.</param>
/// <param name="StdoutTail">When truncated: the end of stdout that the capped output does not hold (up to 64 KiB).</param>
/// <param name="StderrTail">The same for stderr.</param>
public sealed record CommandExited(int? ExitCode, string? Signal, bool Truncated, bool TimedOut, bool OomKilled, long DurationMs, ExecKilled? Killed = null,
    ExecFullOutput? FullOutput = null, byte[]? StdoutTail = null, byte[]? StderrTail = null,
    IReadOnlyList<NetworkEvent>? NetworkRefusals = null, IReadOnlyList<ArtifactInfo>? Artifacts = null) : CommandEvent;

/// <summary>A background process ended and all of its output was given: the process as it ended.</summary>
public sealed record ProcessEnded(ProcessInfo Process) : CommandEvent;

/// <summary>The command could not run or its sandbox went away: the API's error for it.</summary>
public sealed record CommandFailed(HutchException Error) : CommandEvent;

/// <summary>An event of a durable log with the cursor to resume reading after it.</summary>
public readonly record struct LogEntry(CommandEvent Event, long Cursor);
