using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// Running commands: POST /v1/sandboxes/{idOrName}/exec and …/exec/stream (NDJSON).
public sealed partial class HutchClient
{
    private static readonly MediaTypeWithQualityHeaderValue NdjsonMediaType = new("application/x-ndjson");

    /// <summary>Runs a command to completion and returns its collected output (<c>POST …/exec</c>).</summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="request">The command (Argv or Command) and its options. The daemon's default timeout is 60 s.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Exit status and output. A non-zero exit is a result, not an exception.</returns>
    public Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/exec"), request, Json.ExecRequest), Json.ExecResult, cancellationToken);
    }

    /// <summary>Runs a program with arguments, without a shell: <c>ExecAsync(id, "ls", "-la")</c>.</summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="argv">The program and its arguments.</param>
    public Task<ExecResult> ExecAsync(string idOrName, params string[] argv) =>
        ExecAsync(idOrName, new ExecRequest(Argv: argv), CancellationToken.None);

    /// <summary>Runs a shell command line as <c>/bin/sh -c command</c>: <c>RunAsync(id, "make &amp;&amp; ./a.out")</c>.</summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="command">The shell command line.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ExecResult> RunAsync(string idOrName, string command, CancellationToken cancellationToken = default) =>
        ExecAsync(idOrName, new ExecRequest(Command: command), cancellationToken);

    /// <summary>
    /// Runs a command and yields its events as they happen (<c>POST …/exec/stream</c>): one
    /// <see cref="ExecStartEvent"/>, then <see cref="ExecStdoutEvent"/>/<see cref="ExecStderrEvent"/> chunks (their bytes),
    /// then one <see cref="ExecExitEvent"/>, after which the enumeration ends.
    /// </summary>
    /// <remarks>
    /// An <see cref="ExecErrorEvent"/> from the daemon is thrown as a <see cref="HutchApiException"/> rather than
    /// yielded, as is a stream that ends before its exit event. Stopping the enumeration early, or
    /// cancelling it, closes the connection; the command runs on unless the request set
    /// <see cref="ExecRequest.KillOnDisconnect"/>. Streams have no default timeout.
    /// </remarks>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="request">The command (Argv or Command) and its options.</param>
    /// <param name="cancellationToken">Cancels the enumeration and disconnects.</param>
    public async IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The request and the events through ExecJson: the same bytes and records as Json's, without
        // building the serializer's metadata for them (reflection over the polymorphic ExecEvent).
        using var message = NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/exec/stream"));
        message.Content = new ByteArrayContent(ExecJson.Write(request)) { Headers = { ContentType = JsonMediaType } };
        message.Headers.Accept.Add(NdjsonMediaType);

        // ResponseHeadersRead: events are handed over as the daemon flushes them, not when the command ends.
        var body = await SendForStreamAsync(message, cancellationToken).ConfigureAwait(false);

        // Disposing the reader disposes the body; a body not read to its end makes the handler drop the connection.
        await using var reader = new NdjsonReader<ExecEvent>(body, null, ExecJson.ReadEvent);
        while (true)
        {
            var next = await ReadEventAsync(reader, cancellationToken).ConfigureAwait(false);
            if (next is null)
            {
                throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0,
                    $"The exec stream from {BaseAddress} ended before the command's exit event; the command may still be running in the sandbox.");
            }
            if (next is ExecErrorEvent error)
            {
                throw new HutchApiException(error.Code, ErrorStatus.Of(error.Code), error.Message);
            }

            yield return next;

            if (next is ExecExitEvent)
            {
                // Read to the end so the keep-alive connection goes back to the pool for the next call.
                await ReadEventAsync(reader, cancellationToken).ConfigureAwait(false);
                yield break;
            }
        }
    }

    /// <summary>
    /// Opens one stream of a truncated exec's whole output (<see cref="ExecFullOutput"/>), from
    /// <paramref name="offset"/> and at most <paramref name="limit"/> bytes; dispose it to close the
    /// connection. What the result held is its first bytes: read on from there to get the rest.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="outputId">The result's <see cref="ExecFullOutput.Id"/>.</param>
    /// <param name="stream">"stdout" or "stderr".</param>
    /// <param name="offset">The first byte to read.</param>
    /// <param name="limit">The most bytes to read; null for all to the end.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<Stream> ReadExecOutputAsync(string idOrName, string outputId, string stream = "stdout", long offset = 0, long? limit = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputId);
        var query = Query(("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return SendForStreamAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, $"/exec/outputs/{Uri.EscapeDataString(outputId)}/{Uri.EscapeDataString(stream)}") + query),
            cancellationToken);
    }

    private async ValueTask<ExecEvent?> ReadEventAsync(NdjsonReader<ExecEvent> reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0,
                $"The connection to the Hutch daemon at {BaseAddress} broke during an exec stream; the command may still be running in the sandbox.", e);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new HutchApiException(ClientErrorCodes.InvalidResponse, 200, $"The exec stream from {BaseAddress} held a line that is not an exec event: {e.Message}", e);
        }
    }
}
