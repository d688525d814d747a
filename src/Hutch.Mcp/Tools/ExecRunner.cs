using Hutch.Client;
using Hutch.Protocol.Api;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Hutch.Mcp.Tools;

/// <summary>A command's result as a model reads it (the `exec` and `run` tools).</summary>
/// <param name="Sandbox">The sandbox it ran in.</param>
/// <param name="ExitCode">Its exit status; null when a signal ended it.</param>
/// <param name="Signal">The signal that ended it, if one did.</param>
/// <param name="TimedOut">The timeout ended it (its whole process tree was killed).</param>
/// <param name="DurationMs">How long it ran.</param>
/// <param name="Stdout">What it wrote to stdout: whole, or head and tail around a marker that says how to read the rest.</param>
/// <param name="Stderr">The same for stderr.</param>
/// <param name="StdoutBytes">stdout's whole length in bytes.</param>
/// <param name="StderrBytes">stderr's whole length in bytes.</param>
/// <param name="Output">When output was cut: the kept output's id, for the `output` tool.</param>
public sealed record ExecAnswer(string Sandbox, int? ExitCode, string? Signal, bool TimedOut, long DurationMs,
    string Stdout, string Stderr, long StdoutBytes, long StderrBytes, string? Output);

/// <summary>
/// Runs a command through the exec stream: each output event is a progress notification, a
/// cancelled call cancels the stream and so kills the command (killOnDisconnect), and output past
/// the budget is cut by the daemon, which keeps all of it for the `output` tool.
/// </summary>
internal static class ExecRunner
{
    public static async Task<ExecAnswer> RunAsync(HutchClient client, string sandbox, ExecRequest request, int budget,
        bool canReadCut, IProgress<ProgressNotificationValue>? progress, CancellationToken cancellationToken)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var lastReport = DateTimeOffset.MinValue;
        await foreach (var e in client.ExecStreamAsync(sandbox, request with { MaxOutputBytes = budget, KillOnDisconnect = true }, cancellationToken).ConfigureAwait(false))
        {
            switch (e)
            {
                case ExecStdoutEvent o:
                    stdout.Write(o.Data.Span);
                    break;
                case ExecStderrEvent o:
                    stderr.Write(o.Data.Span);
                    break;
                case ExecErrorEvent error:
                    throw new ToolInputException(error.Code, error.Message);
                case ExecExitEvent exit:
                    return await AnswerAsync(client, sandbox, exit, stdout, stderr, canReadCut, cancellationToken).ConfigureAwait(false);
            }
            // Often enough to show life, not one notification per 64 KiB chunk.
            if (progress is not null && DateTimeOffset.UtcNow - lastReport > TimeSpan.FromMilliseconds(250))
            {
                lastReport = DateTimeOffset.UtcNow;
                var bytes = stdout.Length + stderr.Length;
                progress.Report(new ProgressNotificationValue { Progress = bytes, Message = $"{bytes:N0} bytes of output so far" });
            }
        }
        throw new ToolInputException(ClientErrorCodes.StreamInterrupted, "the command's stream ended without its exit status");
    }

    private static async Task<ExecAnswer> AnswerAsync(HutchClient client, string sandbox, ExecExitEvent exit, MemoryStream stdout, MemoryStream stderr,
        bool canReadCut, CancellationToken cancellationToken)
    {
        var full = exit.FullOutput;
        var stdoutBytes = full?.StdoutBytes ?? stdout.Length;
        var stderrBytes = full?.StderrBytes ?? stderr.Length;
        var stdoutTail = await TailAsync(client, sandbox, full, "stdout", stdout.Length, stdoutBytes, cancellationToken).ConfigureAwait(false);
        var stderrTail = await TailAsync(client, sandbox, full, "stderr", stderr.Length, stderrBytes, cancellationToken).ConfigureAwait(false);
        string? Read(string stream) => full is null || !canReadCut ? null : $"output(output: \"{full.Id}\", stream: \"{stream}\", offset: {{offset}})";
        return new ExecAnswer(sandbox, exit.ExitCode, exit.Signal, exit.TimedOut, exit.DurationMs,
            ShownOutput.Of(stdout.GetBuffer().AsSpan(0, (int)stdout.Length), stdoutTail, stdoutBytes, "stdout", Read("stdout")),
            ShownOutput.Of(stderr.GetBuffer().AsSpan(0, (int)stderr.Length), stderrTail, stderrBytes, "stderr", Read("stderr")),
            stdoutBytes, stderrBytes, canReadCut ? full?.Id : null);
    }

    /// <summary>The last bytes of a stream the daemon cut, read back from what it kept.</summary>
    private static async Task<byte[]> TailAsync(HutchClient client, string sandbox, ExecFullOutput? full, string stream, long head, long total,
        CancellationToken cancellationToken)
    {
        if (full is null || total <= head)
        {
            return [];
        }
        var start = Math.Max(head, total - ShownOutput.TailBytes);
        await using var read = await client.ReadExecOutputAsync(sandbox, full.Id, stream, start, total - start, cancellationToken).ConfigureAwait(false);
        var tail = new MemoryStream();
        await read.CopyToAsync(tail, cancellationToken).ConfigureAwait(false);
        return tail.ToArray();
    }

    /// <summary>The text rendering of an answer, for clients that show text only.</summary>
    public static string Text(ExecAnswer a)
    {
        var how = a.TimedOut ? "timed out" : a.Signal is { } s ? $"killed by {s}" : $"exit {a.ExitCode}";
        var text = $"{how} in {a.DurationMs} ms (sandbox {a.Sandbox})";
        if (a.Stdout.Length > 0)
        {
            text += $"\n--- stdout\n{a.Stdout}";
        }
        if (a.Stderr.Length > 0)
        {
            text += $"\n--- stderr\n{a.Stderr}";
        }
        return text;
    }
}
