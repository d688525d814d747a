using System.Net.WebSockets;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// Ports: servers listening inside a sandbox, reached through the daemon. HTTP and WebSocket through
// /v1/sandboxes/{idOrName}/ports/{port}/…; any TCP protocol through the /tcp/{port} WebSocket.
public sealed partial class HutchClient
{
    /// <summary>How long disposing a port stream waits for the server in the sandbox to close its side too.</summary>
    private static readonly TimeSpan PortCloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The daemon's URL for <paramref name="pathAndQuery"/> on the HTTP server listening on
    /// 127.0.0.1:<paramref name="port"/> (or 0.0.0.0) inside the sandbox:
    /// <c>{base}/v1/sandboxes/{idOrName}/ports/{port}/{pathAndQuery}</c>. A request to it needs the API
    /// key (see <see cref="CreatePortRequest"/>); the daemon strips the key before forwarding.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="port">The port inside the sandbox, 1 to 65535.</param>
    /// <param name="pathAndQuery">What the server in the sandbox should see, e.g. <c>api/items?page=2</c>; a leading slash is optional.</param>
    public Uri PortUrl(string idOrName, int port, string? pathAndQuery = null)
    {
        CheckPort(port);
        // Built as one string: new Uri(base, "a:b") would take "a:" for a scheme.
        return new Uri(BaseAddress.AbsoluteUri + SandboxPath(idOrName, $"/ports/{port}/") + (pathAndQuery ?? "").TrimStart('/'));
    }

    /// <summary>
    /// A request to the HTTP server on <paramref name="port"/> inside the sandbox (<see cref="PortUrl"/>)
    /// with the API key set, to send with <see cref="SendToPortAsync"/> or any HttpClient.
    /// </summary>
    /// <param name="method">The HTTP method.</param>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="port">The port inside the sandbox, 1 to 65535.</param>
    /// <param name="pathAndQuery">The path and query the server sees.</param>
    public HttpRequestMessage CreatePortRequest(HttpMethod method, string idOrName, int port, string? pathAndQuery = null)
    {
        var request = new HttpRequestMessage(method, PortUrl(idOrName, port, pathAndQuery));
        request.Headers.Authorization = _authorization;
        return request;
    }

    /// <summary>
    /// Sends a request made by <see cref="CreatePortRequest"/> through this client's connections and
    /// returns the server's answer as it is, whatever its status. When the daemon itself refuses, the
    /// answer is a problem+json with a code: <c>port_unreachable</c> (502) when nothing listens on the
    /// port, <c>sandbox_not_found</c> (404), <c>invalid_port</c> (400).
    /// </summary>
    /// <param name="request">The request; its body is streamed, of any size.</param>
    /// <param name="completion">When to return: after the headers (to stream the body) or after all of it.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="HutchApiException">No answer came (<see cref="ClientErrorCodes.DaemonUnreachable"/>).</exception>
    public async Task<HttpResponseMessage> SendToPortAsync(HttpRequestMessage request, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw ConnectionFailure(e);
        }
    }

    /// <summary>
    /// Opens a raw TCP connection to 127.0.0.1:<paramref name="port"/> inside the sandbox, through the
    /// daemon (<c>GET /v1/sandboxes/{idOrName}/tcp/{port}</c>, a WebSocket carrying the bytes in binary
    /// messages). Any protocol works: what is written reaches the server, what it sends is read.
    /// </summary>
    /// <remarks>
    /// Reads return 0 once the server has closed its side. To end your side only (shutdown(SHUT_WR),
    /// e.g. after a request the server reads to its end), call
    /// <c>stream.WebSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct)</c> and keep
    /// reading. Disposing closes both sides, waiting up to 5 s for the server's end of stream.
    /// A connection broken midway makes reads and writes throw <see cref="WebSocketException"/>.
    /// </remarks>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="port">The port inside the sandbox, 1 to 65535.</param>
    /// <param name="cancellationToken">Cancels opening the connection (not the stream's later reads).</param>
    /// <returns>The connection as a stream; dispose it to close the connection.</returns>
    /// <exception cref="HutchApiException">
    /// <c>port_unreachable</c> when nothing listens on the port; <c>sandbox_not_found</c>,
    /// <c>sandbox_not_running</c>, <c>unauthorized</c>; <see cref="ClientErrorCodes.DaemonUnreachable"/>.
    /// </exception>
    public async Task<WebSocketStream> ConnectPortAsync(string idOrName, int port, CancellationToken cancellationToken = default)
    {
        CheckPort(port);
        var url = new UriBuilder(new Uri(BaseAddress, SandboxPath(idOrName, $"/tcp/{port}")))
        {
            Scheme = BaseAddress.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
        }.Uri;
        var webSocket = new ClientWebSocket();
        webSocket.Options.SetRequestHeader("Authorization", _authorization.ToString());
        // The status of a refused upgrade is all a WebSocket client learns of it: keep it to say why.
        webSocket.Options.CollectHttpResponseDetails = true;
        try
        {
            // Through this client's HttpClient: same handler (no proxy), same connection settings.
            await webSocket.ConnectAsync(url, _http, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException e)
        {
            var status = (int)webSocket.HttpStatusCode;
            webSocket.Dispose();
            throw status == 0 ? ConnectionFailure(e) : RefusedTunnel(status, idOrName, port);
        }
        catch
        {
            webSocket.Dispose();
            throw;
        }
        return WebSocketStream.Create(webSocket, WebSocketMessageType.Binary, PortCloseTimeout);
    }

    /// <summary>
    /// Why the daemon refused the tcp upgrade. A WebSocket client never sees the problem+json body, so
    /// the route's statuses are mapped to its codes (each status has one meaning there).
    /// </summary>
    private static HutchApiException RefusedTunnel(int status, string idOrName, int port) => status switch
    {
        502 => new(ErrorCodes.PortUnreachable, status,
            $"Nothing accepts connections on 127.0.0.1:{port} in sandbox {idOrName}. Start the server inside the sandbox, listening on 127.0.0.1:{port} or 0.0.0.0:{port}."),
        404 => new(ErrorCodes.SandboxNotFound, status, $"No sandbox has the id or name '{idOrName}'. List the sandboxes to find it."),
        409 => new(ErrorCodes.SandboxNotRunning, status, $"The sandbox {idOrName} has no running init: delete it and create a new one."),
        _ => ProblemToException(status, null, []),
    };

    private static void CheckPort(int port)
    {
        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "A TCP port is a number from 1 to 65535.");
        }
    }
}
