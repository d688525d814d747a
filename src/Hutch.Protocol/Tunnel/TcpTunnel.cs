using System.Buffers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.ExceptionServices;

namespace Hutch.Protocol.Tunnel;

/// <summary>
/// How the tcp route (<c>GET /v1/sandboxes/{id}/tcp/{port}</c>, a WebSocket) carries one TCP
/// connection, and the bridge both of its ends run: the daemon between the WebSocket and a socket in
/// the sandbox, <c>hutch port-forward</c> between the WebSocket and a local socket.
/// <list type="bullet">
/// <item>Bytes travel as binary messages, both ways; message boundaries mean nothing.</item>
/// <item>A close frame is its sender's end of stream, like shutdown(SHUT_WR): the other direction
/// carries on until its own sender closes, so request/response protocols that half-close work.</item>
/// <item>A connection that breaks (reset, error) aborts the WebSocket without a close frame, so the far
/// end learns it failed rather than ended, and resets its own socket.</item>
/// </list>
/// </summary>
public static class TcpTunnel
{
    // One buffer per direction: 64 KiB fills a loopback TCP window's worth per message.
    private const int BufferSize = 64 * 1024;

    /// <summary>
    /// Pipes bytes between <paramref name="socket"/> (connected) and <paramref name="webSocket"/> (open)
    /// until both directions have ended. When either fails, or <paramref name="cancellationToken"/> is
    /// cancelled, both are aborted at once (the socket with a reset) and the first failure is thrown.
    /// The caller still owns and disposes both.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task RunAsync(Socket socket, WebSocket webSocket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(webSocket);
        var tunnel = new Ends(socket, webSocket);
        using (cancellationToken.Register(tunnel.Abort))
        {
            await Task.WhenAll(
                tunnel.GuardAsync(WebSocketToSocketAsync(webSocket, socket)),
                tunnel.GuardAsync(SocketToWebSocketAsync(socket, webSocket))).ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (tunnel.Failure is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    private static async Task WebSocketToSocketAsync(WebSocket from, Socket to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var received = await from.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                for (var sent = 0; sent < received.Count;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, received.Count - sent), SocketFlags.None).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task SocketToWebSocketAsync(Socket from, WebSocket to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            }
            await to.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The two ends, torn down together on the first failure, which is kept to be rethrown.</summary>
    private sealed class Ends(Socket socket, WebSocket webSocket)
    {
        private Exception? _failure;

        public Exception? Failure => Volatile.Read(ref _failure);

        public async Task GuardAsync(Task direction)
        {
            try
            {
                await direction.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The first failure is the cause; the other direction then fails only because of the abort.
                Interlocked.CompareExchange(ref _failure, e, null);
                Abort();
            }
        }

        public void Abort()
        {
            webSocket.Abort();
            try
            {
                // Linger 0: close with a reset, so the peer sees a broken connection, not a clean end of stream.
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // Already closed: nothing left to reset.
            }
            socket.Dispose();
        }
    }
}
