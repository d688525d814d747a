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
