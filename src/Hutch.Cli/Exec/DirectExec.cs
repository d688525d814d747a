using System.Net.Sockets;
using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Exec;

/// <summary>
/// `hutch exec`'s stream without HttpClient: <c>POST …/exec/stream</c> over <see cref="Http1Exchange"/>,
/// events read with <see cref="ExecJson"/>, output played by <see cref="ExecPump"/>, all on one thread of
/// its own. The same request bytes, events and errors as <see cref="HutchClient.ExecStreamAsync"/>
/// (which stays the way for https and for everything else), for about half of what a whole
/// `hutch exec` cost (docs/benchmarks.md, issue #10).
/// </summary>
internal static class DirectExec
{
    /// <summary>As SocketsHttpHandler's ConnectTimeout in <see cref="HutchClient"/>.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Plain http (TLS stays with HttpClient) and a key that is a valid header value.</summary>
    public static bool Supports(HutchEndpoint endpoint) =>
        endpoint.BaseAddress.Scheme == Uri.UriSchemeHttp && endpoint.ApiKey is { } key && key.All(c => c is > ' ' and < '\x7f');

    /// <summary>
    /// Runs the exec on a background thread and completes with its exit event. A signal need not
    /// reach that thread: the caller stops waiting (a write to a reader that does not read, a daemon
    /// that does not answer) and exits, which closes the connection, as before.
    /// </summary>
    public static Task<ExecExitEvent> RunAsync(HutchEndpoint endpoint, string sandbox, ExecRequest request, Stream stdout, Stream stderr)
    {
        // Continuations run on the exec's thread, so what follows (the exit notes) needs no thread pool either.
        var done = new TaskCompletionSource<ExecExitEvent>();
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(ExecPump.Run(Events(endpoint, sandbox, request), stdout, stderr));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true, // Never holds the process open once Main returns.
            Name = "hutch exec",
        };
        thread.UnsafeStart();
        return done.Task;
    }

    /// <summary>The events as <see cref="HutchClient.ExecStreamAsync"/> yields them, with its errors.</summary>
    internal static IEnumerable<ExecEvent> Events(HutchEndpoint endpoint, string sandbox, ExecRequest request)
    {
        var baseAddress = endpoint.BaseAddress;
        var url = new Uri(baseAddress, HutchClient.SandboxPath(sandbox, "/exec/stream"));
        var head = $"Authorization: Bearer {HutchClient.ApiKeyOf(endpoint)}\r\nAccept: application/x-ndjson\r\nContent-Type: application/json\r\n";
        Http1Exchange exchange;
        try
        {
            exchange = Http1Exchange.Send(url, "POST", head, ExecJson.Write(request), ConnectTimeout);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw HutchClient.ConnectionFailure(baseAddress, e);
        }
        using (exchange)
        {
            if (exchange.Status is < 200 or > 299)
            {
                throw Problem(exchange);
            }
            var lines = new NdjsonLines(exchange);
            while (true)
            {
                var next = Next(lines, baseAddress) ?? throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0,
                    $"The exec stream from {baseAddress} ended before the command's exit event; the command may still be running in the sandbox.");
                if (next is ExecErrorEvent error)
                {
                    throw new HutchApiException(error.Code, ErrorStatus.Of(error.Code), error.Message);
                }
                yield return next;
                if (next is ExecExitEvent)
                {
                    // Read on to the end of the answer, as the SDK does, so the daemon sees it all delivered.
                    Next(lines, baseAddress);
                    yield break;
                }
            }
        }
    }

    private static ExecEvent? Next(NdjsonLines lines, Uri baseAddress)
    {
        ReadOnlySpan<byte> line;
        try
        {
            if (!lines.TryRead(out line))
            {
                return null;
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0,
                $"The connection to the Hutch daemon at {baseAddress} broke during an exec stream; the command may still be running in the sandbox.", e);
        }
        try
        {
            return ExecJson.ReadEvent(line);
        }
        catch (JsonException e)
        {
            throw new HutchApiException(ClientErrorCodes.InvalidResponse, 200, $"The exec stream from {baseAddress} held a line that is not an exec event: {e.Message}", e);
        }
    }

    /// <summary>A non-2xx answer as <see cref="HutchClient"/> reports it: the problem+json's code and detail.</summary>
    private static HutchApiException Problem(Http1Exchange exchange)
    {
        var body = new MemoryStream();
        try
        {
            var buffer = new byte[16 * 1024];
            for (int n; body.Length < 1 << 20 && (n = exchange.ReadBody(buffer)) > 0;)
            {
                body.Write(buffer, 0, n);
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            body.SetLength(0); // As the SDK: an unreadable body says nothing, the status does.
        }
        return HutchClient.ProblemToException(exchange.Status, exchange.Reason, body.GetBuffer().AsSpan(0, (int)body.Length), RetryAfter(exchange.RetryAfter));
    }

    /// <summary>Retry-After as seconds or as a date (RFC 9110 §10.2.3); null when absent or neither.</summary>
    internal static TimeSpan? RetryAfter(string? value) =>
        value is null ? null
        : long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds)
        : DateTimeOffset.TryParseExact(value, "r", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal, out var date)
            ? (date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero)
        : null;
}
