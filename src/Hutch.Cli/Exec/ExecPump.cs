using System.Buffers;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Exec;

/// <summary>
/// Plays an exec event stream onto this process's stdout and stderr: bytes as they come, decoded from
/// base64 and written unbuffered, never re-encoded. Shared by `hutch exec` and `hutch run`, whichever
/// engine (daemon over HTTP, or in-process) produced the events.
/// </summary>
internal static class ExecPump
{
    /// <summary>Copies output until the exit event and returns it; an error event becomes a <see cref="CliException"/>.</summary>
    public static async Task<ExecEvent> RunAsync(IAsyncEnumerable<ExecEvent> events, Stream stdout, Stream stderr, CancellationToken cancellationToken)
    {
        await foreach (var e in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            switch (e.Type)
            {
                case ExecEventTypes.Stdout:
                    await WriteAsync(stdout, e.Data, cancellationToken).ConfigureAwait(false);
                    break;
                case ExecEventTypes.Stderr:
                    await WriteAsync(stderr, e.Data, cancellationToken).ConfigureAwait(false);
                    break;
                case ExecEventTypes.Exit:
                    return e;
                case ExecEventTypes.Error:
                    throw new CliException(e.Code ?? ErrorCodes.Internal, e.Message ?? "the command failed in the sandbox");
                default:
                    break; // start, and event types added later, carry no output.
            }
        }
        throw new CliException("stream_interrupted", "the exec stream ended before the command's exit status; the command may still be running");
    }

    private static async ValueTask WriteAsync(Stream target, string? base64, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(base64))
        {
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(base64.Length / 4 * 3 + 3);
        try
        {
            if (!Convert.TryFromBase64String(base64, buffer, out var length))
            {
                throw new CliException("invalid_response", "the daemon sent output that is not base64");
            }
            await target.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await target.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
