using Hutch.Protocol.Api;

namespace Hutch.Cli.Exec;

/// <summary>
/// Plays an exec event stream onto this process's stdout and stderr: bytes as they come, written
/// unbuffered, never re-encoded. Shared by `hutch exec` and `hutch run`, whichever
/// engine (daemon over HTTP, or in-process) produced the events.
/// </summary>
internal static class ExecPump
{
    /// <summary>Copies output until the exit event and returns it; an error event becomes a <see cref="CliException"/>.</summary>
    public static async Task<ExecExitEvent> RunAsync(IAsyncEnumerable<ExecEvent> events, Stream stdout, Stream stderr, CancellationToken cancellationToken)
    {
        await foreach (var e in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            switch (e)
            {
                case ExecStdoutEvent o:
                    await WriteAsync(stdout, o.Data, cancellationToken).ConfigureAwait(false);
                    break;
                case ExecStderrEvent o:
                    await WriteAsync(stderr, o.Data, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    if (Ends(e) is { } exit)
                    {
                        return exit;
                    }
                    break;
            }
        }
        throw Interrupted();
    }

    /// <summary>The same from events read synchronously (<see cref="DirectExec"/>), written with blocking writes.</summary>
    public static ExecExitEvent Run(IEnumerable<ExecEvent> events, Stream stdout, Stream stderr)
    {
        foreach (var e in events)
        {
            switch (e)
            {
                case ExecStdoutEvent o:
                    Write(stdout, o.Data.Span);
                    break;
                case ExecStderrEvent o:
                    Write(stderr, o.Data.Span);
                    break;
                default:
                    if (Ends(e) is { } exit)
                    {
                        return exit;
                    }
                    break;
            }
        }
        throw Interrupted();
    }

    /// <summary>The exit event, or null for an event that carries no output (start); an error event is thrown.</summary>
    private static ExecExitEvent? Ends(ExecEvent e) => e switch
    {
        ExecExitEvent exit => exit,
        ExecErrorEvent error => throw new CliException(error.Code, error.Message),
        _ => null,
    };

    private static CliException Interrupted() =>
        new("stream_interrupted", "the exec stream ended before the command's exit status; the command may still be running");

    private static async ValueTask WriteAsync(Stream target, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (data.IsEmpty)
        {
            return;
        }
        await target.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await target.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Write(Stream target, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        target.Write(data);
        target.Flush();
    }
}
