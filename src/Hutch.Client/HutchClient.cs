using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Hutch.Protocol.Api;

namespace Hutch.Client;

/// <summary>
/// A client of one Hutch daemon's HTTP API. Thread-safe; create one and keep it: every call reuses the
/// same pooled keep-alive connections. Failures throw <see cref="HutchApiException"/>; cancellation
/// throws <see cref="OperationCanceledException"/>.
/// </summary>
public sealed partial class HutchClient : IDisposable
{
    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly AuthenticationHeaderValue _authorization;

    /// <summary>Creates a client of the daemon at <paramref name="baseAddress"/>.</summary>
    /// <param name="baseAddress">The daemon's base URL, e.g. <c>http://127.0.0.1:7311</c>. A path prefix is kept.</param>
    /// <param name="apiKey">The daemon's API key, sent as <c>Authorization: Bearer</c> on every request.</param>
    /// <param name="httpClient">
    /// An HttpClient to send through (its lifetime stays yours, and its Timeout applies to streams too);
    /// null for a private one over a single <see cref="SocketsHttpHandler"/> with keep-alive and no proxy.
    /// </param>
    public HutchClient(Uri baseAddress, string apiKey, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        if (!baseAddress.IsAbsoluteUri)
        {
            throw new ArgumentException("The base address must be absolute, e.g. http://127.0.0.1:7311.", nameof(baseAddress));
        }

        // A trailing slash makes relative paths ("v1/health") resolve under a prefix such as http://host/hutch/.
        BaseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _authorization = new AuthenticationHeaderValue("Bearer", apiKey.Trim());
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient(CreateHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// Creates a client of the daemon found by <see cref="HutchEndpoint.Discover(string?)"/>: HUTCH_URL,
    /// else the running daemon's daemon.json, else http://127.0.0.1:7311; key from HUTCH_API_KEY, else the api-key file.
    /// </summary>
    /// <param name="dataDir">The data directory to look in; null for HUTCH_DATA_DIR or /var/lib/hutch.</param>
    /// <param name="httpClient">As in the constructor.</param>
    /// <exception cref="HutchApiException">No API key was found (<see cref="ClientErrorCodes.NoApiKey"/>).</exception>
    public static HutchClient FromEnvironment(string? dataDir = null, HttpClient? httpClient = null) =>
        FromEndpoint(HutchEndpoint.Discover(dataDir), httpClient);

    /// <summary>Creates a client of a discovered endpoint.</summary>
    /// <param name="endpoint">Usually from <see cref="HutchEndpoint.Discover(string?)"/>.</param>
    /// <param name="httpClient">As in the constructor.</param>
    /// <exception cref="HutchApiException">The endpoint has no API key (<see cref="ClientErrorCodes.NoApiKey"/>).</exception>
    public static HutchClient FromEndpoint(HutchEndpoint endpoint, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new HutchClient(endpoint.BaseAddress, ApiKeyOf(endpoint), httpClient);
    }

    /// <summary>The endpoint's key, or the error that says where to find one.</summary>
    internal static string ApiKeyOf(HutchEndpoint endpoint) => endpoint.ApiKey ?? throw new HutchApiException(ClientErrorCodes.NoApiKey, 0,
        $"No API key found: set HUTCH_API_KEY, or run as a user that can read {Path.Join(endpoint.DataDir, "api-key")} (`hutch serve` writes it).");

    /// <summary>The daemon's base URL, always ending in a slash.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Releases the connections, unless the HttpClient was given to the constructor.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static SocketsHttpHandler CreateHandler() => new()
    {
        // The daemon is on loopback or a trusted network: an HTTP_PROXY meant for the internet must not catch it.
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        // Keep-alive pings are an HTTP/2 matter; HTTP/1.1 keeps the pooled sockets open between calls.
        MaxConnectionsPerServer = int.MaxValue,
        // A stream the caller stops reading must hang up at once, not be drained for reuse: the
        // daemon learns of the disconnect from the closed socket (and kills when asked to).
        MaxResponseDrainSize = 0,
    };

    /// <summary>JSON for everything this client reads and writes: <see cref="ApiJsonContext"/>, but tolerant on reading.</summary>
    /// <remarks>
    /// The shared context refuses unknown members, which is right for the daemon reading requests. A
    /// client must instead keep working when a newer daemon adds a field, or when problem+json carries
    /// extensions (traceId), so the same generated metadata is used with unknown members skipped.
    /// </remarks>
    internal static readonly ApiJsonContext Json = new(new JsonSerializerOptions(ApiJsonContext.Default.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    });

    private HttpRequestMessage NewRequest<T>(HttpMethod method, string path, T? body, JsonTypeInfo<T>? bodyType)
    {
        var request = new HttpRequestMessage(method, new Uri(BaseAddress, path));
        request.Headers.Authorization = _authorization;
        if (body is not null && bodyType is not null)
        {
            // Serialized up front: a Content-Length body in one write, rather than chunked encoding for a few hundred bytes.
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, bodyType));
            request.Content.Headers.ContentType = JsonMediaType;
        }
        return request;
    }

    private HttpRequestMessage NewRequest(HttpMethod method, string path) => NewRequest<object>(method, path, null, null);

    /// <summary>Sends and returns a successful response; every failure becomes a <see cref="HutchApiException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw ConnectionFailure(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && e.InnerException is TimeoutException)
        {
            throw new HutchApiException(ClientErrorCodes.DaemonUnreachable, 0, $"The Hutch daemon at {BaseAddress} did not answer in time (the HttpClient's Timeout passed).", e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ReadProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<T> SendForJsonAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> resultType, CancellationToken cancellationToken)
    {
        using (request)
        using (var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                return await JsonSerializer.DeserializeAsync(stream, resultType, cancellationToken).ConfigureAwait(false)
                    ?? throw InvalidResponse(response, null);
            }
            catch (JsonException e)
            {
                throw InvalidResponse(response, e);
            }
        }
    }

    private HutchApiException InvalidResponse(HttpResponseMessage response, Exception? inner) =>
        new(ClientErrorCodes.InvalidResponse, (int)response.StatusCode,
            $"The server at {BaseAddress} sent an answer that is not Hutch API JSON (HTTP {(int)response.StatusCode}). Check that the URL points at a Hutch daemon of the same version.", inner);

    internal HutchApiException ConnectionFailure(Exception e) => ConnectionFailure(BaseAddress, e);

    /// <summary>A failure to reach the daemon or to get its answer, as every call reports it.</summary>
    internal static HutchApiException ConnectionFailure(Uri baseAddress, Exception e)
    {
        // HttpRequestError says why without string matching; a SocketException anywhere inside says it for older stacks.
        var refused = e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }
            || FindSocketError(e) is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostNotFound;
        return refused
            ? new HutchApiException(ClientErrorCodes.DaemonUnreachable, 0, $"No Hutch daemon answers at {baseAddress}: start one with `hutch serve`.", e)
            : new HutchApiException(ClientErrorCodes.StreamInterrupted, 0, $"The connection to the Hutch daemon at {baseAddress} failed: {e.Message}", e);
    }

    private static SocketError? FindSocketError(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is SocketException s)
            {
                return s.SocketErrorCode;
            }
        }
        return null;
    }

    /// <summary>Turns a non-2xx answer into an exception: the problem+json's code and detail when there is one.</summary>
    private static async Task<HutchApiException> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        byte[] body;
        try
        {
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            body = [];
        }
        return ProblemToException(status, response.ReasonPhrase, body, RetryAfterOf(response));
    }

    /// <summary>Retry-After as seconds or as a date (RFC 9110 §10.2.3); null when absent.</summary>
    private static TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    internal static HutchApiException ProblemToException(int status, string? reason, ReadOnlySpan<byte> body, TimeSpan? retryAfter = null)
    {
        Problem? problem = null;
        if (!body.IsEmpty)
        {
            try
            {
                problem = JsonSerializer.Deserialize(body, Json.Problem);
            }
            catch (JsonException)
            {
                // Not problem+json (a proxy's HTML page, say): described from the status below.
            }
        }

        var code = problem?.Code is { Length: > 0 } c ? c : CodeForStatus(status);
        var detail = problem?.Detail is { Length: > 0 } d ? d
            : problem?.Title is { Length: > 0 } t ? t
            : $"HTTP {status} {reason}".TrimEnd() + (status == 401 ? ": the API key was refused; set HUTCH_API_KEY to the key in the daemon's api-key file." : ".");
        return new HutchApiException(code, status, detail, retryAfter: retryAfter);
    }

    private static string CodeForStatus(int status) => status switch
    {
        401 or 403 => ErrorCodes.Unauthorized,
        404 => ErrorCodes.SandboxNotFound,
        429 => ErrorCodes.RateLimited,
        >= 400 and < 500 => ErrorCodes.InvalidRequest,
        _ => ErrorCodes.Internal,
    };

    /// <summary>A sandbox's route relative to the base address: v1/sandboxes/{idOrName, escaped}{suffix}.</summary>
    internal static string SandboxPath(string idOrName, string? suffix = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrName);
        return "v1/sandboxes/" + Uri.EscapeDataString(idOrName) + suffix;
    }
}
