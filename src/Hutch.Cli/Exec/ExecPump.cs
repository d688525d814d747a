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
                case ExecExitEvent exit:
                    return exit;
                case ExecErrorEvent error:
                    throw new CliException(error.Code, error.Message);
                case ExecStartEvent:
                    break; // carries no output
            }
        }
        throw new CliException("stream_interrupted", "the exec stream ended before the command's exit status; the command may still be running");
    }

    private static async ValueTask WriteAsync(Stream target, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (data.IsEmpty)
        {
            return;
        }
        await target.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await target.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
