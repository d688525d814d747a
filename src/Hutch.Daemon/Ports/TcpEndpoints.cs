using Hutch.Daemon.Http;
using System.Net.WebSockets;
using Hutch.Protocol.Api;
using Hutch.Protocol.Tunnel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Ports;

/// <summary>
/// GET /v1/sandboxes/{id}/tcp/{port}: a WebSocket that carries one raw TCP connection to
/// 127.0.0.1:{port} inside the sandbox (<see cref="TcpTunnel"/>), for any protocol, as
/// `hutch port-forward` uses it. The socket is made in the sandbox's network namespace
/// (<see cref="PortService.ConnectAsync"/>) and connected before the upgrade, so a port nothing
/// listens on is an ordinary 502 problem rather than a WebSocket that closes at once.
/// </summary>
internal static class TcpEndpoints
{
    /// <summary>Pings on idle tunnels, so proxies and NATs between client and daemon keep them open.</summary>
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(30);

    public static void Map(WebApplication app, PortService ports, ILogger logger)
    {
        var stopping = app.Lifetime.ApplicationStopping;
        app.MapGet("/v1/sandboxes/{id}/tcp/{port}", async (string id, string port, HttpContext context) =>
            {
                var number = PortService.Validate(port);
                var sandboxId = await ports.ResolveRunningAsync(id, context.RequestAborted);
                if (!context.WebSockets.IsWebSocketRequest)
                {
                    throw new HutchException(ErrorCodes.InvalidRequest,
                        $"/v1/sandboxes/{id}/tcp/{port} is a WebSocket: open it with a WebSocket client (GET with 'Upgrade: websocket'). " +
                        $"For HTTP to a server in the sandbox, use /v1/sandboxes/{id}/ports/{port}/ instead.");
                }
                using var socket = await ports.ConnectAsync(sandboxId, number, context.RequestAborted);
                using var webSocket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = KeepAlive });
                // A tunnel lives as long as its connection, but never past the daemon's stop: Kestrel would otherwise wait for it.
                using var end = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
                try
                {
                    await TcpTunnel.RunAsync(socket, webSocket, end.Token);
                }
                catch (Exception e) when (e is WebSocketException or System.Net.Sockets.SocketException or IOException or OperationCanceledException)
                {
                    // A client that goes away or a server that resets is routine for a TCP connection.
                    Log.TunnelEnded(logger, sandboxId, number, e.GetBaseException().Message);
                }
            })
            .WithSummary("Open a raw TCP connection to 127.0.0.1:{port} inside the sandbox, carried over a WebSocket")
            .ExcludeFromDescription();
    }
}
