using Hutch.Protocol.Api;

namespace Hutch.Daemon.Commands;

/// <summary>
/// A finished command with its output collected in <see cref="OutputBuffer"/>s: what a sync exec or
/// a session command returns inside the daemon. The HTTP edge writes it out as an
/// <see cref="ExecResult"/> chunk by chunk, so an output of any size never becomes one string.
/// Dispose it once written: that removes a spilled output's file.
/// </summary>
public sealed record CollectedExec(
    int? ExitCode,
    string? Signal,
    OutputBuffer Stdout,
    OutputBuffer Stderr,
    string Encoding,
    bool Truncated,
    bool TimedOut,
    bool OomKilled,
    long DurationMs,
    ExecKilled? Killed = null,
    ExecFullOutput? FullOutput = null,
    byte[]? StdoutTail = null,
    byte[]? StderrTail = null,
    IReadOnlyList<NetworkEvent>? NetworkRefusals = null,
    IReadOnlyList<ArtifactInfo>? Artifacts = null) : IDisposable
{
    public void Dispose()
    {
        Stdout.Dispose();
        Stderr.Dispose();
    }
}
