using Hutch.Protocol.Api;

namespace Hutch.Daemon.Engine;

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
    long DurationMs) : IDisposable
{
    /// <summary>The result with its output as strings: for in-process callers that set a small cap themselves.</summary>
    public ExecResult ToResult() =>
        new(ExitCode, Signal, Text(Stdout), Text(Stderr), Encoding, Truncated, TimedOut, OomKilled, DurationMs);

    public void Dispose()
    {
        Stdout.Dispose();
        Stderr.Dispose();
    }

    private string Text(OutputBuffer output) => Encoding == "base64"
        ? Convert.ToBase64String(output.ToArray())
        : System.Text.Encoding.UTF8.GetString(output.ToArray());
}
