using Hutch.Daemon.Http;
using System.Net.WebSockets;
using System.Text.Json;
using Hutch.Daemon.Processes;
using Hutch.Daemon.Http.Limits;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Shells;

/// <summary>
/// A terminal attached over a WebSocket (<c>GET …/shells/{shell}/attach</c>, docs/shells.md):
/// output replayed from a cursor and then followed live, exactly as the log routes read it, goes
/// out as binary messages, each batch followed by a <c>cursor</c> text message to reattach from;
/// binary messages in are typed input, text messages in are JSON controls (resize, coalesced to
/// at most HUTCH_RESIZES_PER_SECOND). When the shell ends the server sends <c>exit</c> and closes.
/// Closing the socket detaches: the shell runs on.
/// </summary>
internal sealed class ShellSocket : IAsyncDisposable
{
    /// <summary>Largest control message (JSON text) accepted; they are a few dozen bytes.</summary>
    private const int MaxControlBytes = 4096;

    /// <summary>How long the client has to answer the server's close before the socket is dropped.</summary>
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly LogReader _logs;
    private readonly ShellTarget _shell;
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly CancellationTokenSource _stop;
    private readonly ResizeCoalescer _resizes;

    private ShellSocket(WebSocket socket, LogReader logs, ShellTarget shell, int resizesPerSecond, CancellationToken aborted)
    {
        _socket = socket;
        _logs = logs;
        _shell = shell;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        _resizes = new ResizeCoalescer(ApplyResizeAsync, TimeSpan.FromSeconds(1.0 / resizesPerSecond), _stop.Token);
    }

    public static async Task RunAsync(HttpContext context, ShellService shells, LogReader logs, string id, string shell, long cursor, int resizesPerSecond)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new HutchException(ErrorCodes.InvalidRequest,
                "…/attach is a WebSocket: connect with a WebSocket client (Upgrade: websocket), or read the output with GET …/output.");
        }
        // Everything that can be refused is refused before the upgrade, as a problem+json answer.
        var target = await shells.TargetAsync(id, shell, context.RequestAborted);
        await ValidateCursorAsync(logs, target, cursor, context.RequestAborted);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await using var session = new ShellSocket(socket, logs, target, resizesPerSecond, context.RequestAborted);
        await session.ServeAsync(cursor);
    }

    /// <summary>A cursor the log never handed out is refused now (invalid_cursor), not after the upgrade.</summary>
    private static async Task ValidateCursorAsync(LogReader logs, ShellTarget target, long cursor, CancellationToken cancellationToken)
    {
        if (cursor == 0)
        {
            return;
        }
        await using var events = logs.ReadAsync(target.Live.Record.Id, target.Id, cursor, follow: false, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await events.MoveNextAsync();
    }

    private async Task ServeAsync(long cursor)
    {
        var output = PumpOutputAsync(cursor);
        var input = PumpInputAsync();
        if (await Task.WhenAny(output, input) == output)
        {
            // The server closed (the shell ended, or its sandbox did): the client has a moment to
            // answer the close, which ends the input pump; past it the socket is dropped.
            _stop.CancelAfter(CloseHandshakeTimeout);
        }
        else
        {
            await _stop.CancelAsync();
        }
        await Task.WhenAll(Quietly(output), Quietly(input));
        await Quietly(_resizes.Scheduled);
    }

    /// <summary>Output as it is in the log: binary messages, a cursor after each batch, then exit and close.</summary>
    private async Task PumpOutputAsync(long cursor)
    {
        try
        {
            await FollowAsync(cursor);
        }
        catch (HutchException e)
        {
            // The sandbox stopped or was deleted under the attached client: say so, then close.
            var token = _stop.Token;
            await SendTextAsync(new ShellMessage(ShellMessageTypes.Error, Code: e.Code, Message: e.Message), token);
            await CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "the shell is gone", token);
        }
    }

    private async Task FollowAsync(long cursor)
    {
        var token = _stop.Token;
        var events = _logs.ReadAsync(_shell.Live.Record.Id, _shell.Id, cursor, follow: true, token).GetAsyncEnumerator(token);
        await using (events)
        {
            var unreported = false;
            while (true)
            {
                var next = events.MoveNextAsync();
                if (!next.IsCompleted && unreported)
                {
                    // The reader caught up and waits for more: tell the client where it is now.
                    try
                    {
                        await SendTextAsync(new ShellMessage(ShellMessageTypes.Cursor, Cursor: cursor), token);
                    }
                    catch
                    {
                        // The socket is gone: the pending read must finish before the reader is disposed.
                        await _stop.CancelAsync();
                        await Quietly(next.AsTask());
                        throw;
                    }
                    unreported = false;
                }
                if (!await next)
                {
                    return;
                }
                cursor = events.Current.Cursor;
                switch (events.Current.Event)
                {
                    case CommandOutput output:
                        await SendAsync(output.Data, WebSocketMessageType.Binary, token);
                        unreported = true;
                        break;
                    case OutputTruncated:
                        unreported = true;
                        break;
                    case ProcessEnded { Process.State: ProcessStates.Failed } failed:
                        // Not an exit: its sandbox stopped (or is being deleted) before one was recorded.
                        throw new HutchException(ErrorCodes.SandboxDied, failed.Process.Error ?? "The shell's sandbox stopped: its exit status is unknown.");
                    case ProcessEnded ended:
                        await SendTextAsync(new ShellMessage(ShellMessageTypes.Cursor, Cursor: cursor), token);
                        await SendTextAsync(new ShellMessage(ShellMessageTypes.Exit, ExitCode: ended.Process.ExitCode, Signal: ended.Process.Signal), token);
                        await CloseAsync(WebSocketCloseStatus.NormalClosure, "the shell exited", token);
                        return;
                }
            }
        }
    }

    /// <summary>Binary messages are typed input, forwarded piece by piece in order; text messages are JSON controls.</summary>
    private async Task PumpInputAsync()
    {
        var token = _stop.Token;
        var buffer = new byte[64 * 1024];
        var control = new MemoryStream();
        while (true)
        {
            var received = await _socket.ReceiveAsync(buffer, token);
            switch (received.MessageType)
            {
                case WebSocketMessageType.Close:
                    await CloseAsync(WebSocketCloseStatus.NormalClosure, "detached", token);
                    return;
                case WebSocketMessageType.Binary when received.Count > 0:
                    try
                    {
                        await _resizes.FlushAsync();
                        await ShellService.WriteInputAsync(_shell, buffer.AsMemory(0, received.Count), token);
                    }
                    catch (HutchException e) when (e.Code == ErrorCodes.ProcessNotRunning)
                    {
                        // Typed after the shell ended: the output side is sending exit.
                    }
                    break;
                case WebSocketMessageType.Text:
                    if (control.Length + received.Count > MaxControlBytes)
                    {
                        await CloseAsync(WebSocketCloseStatus.MessageTooBig, $"control messages are at most {MaxControlBytes} bytes", token);
                        return;
                    }
                    control.Write(buffer, 0, received.Count);
                    if (received.EndOfMessage)
                    {
                        await ControlAsync(control.ToArray(), token);
                        control.SetLength(0);
                    }
                    break;
            }
        }
    }

    /// <summary>One JSON control message; a bad one is answered with an error message and the session goes on.</summary>
    private async Task ControlAsync(byte[] json, CancellationToken token)
    {
        try
        {
            var message = JsonSerializer.Deserialize(json, ApiJsonContext.Default.ShellMessage)
                ?? throw new HutchException(ErrorCodes.InvalidRequest, "A control message is a JSON object.");
            if (message.Type != ShellMessageTypes.Resize)
            {
                throw new HutchException(ErrorCodes.InvalidRequest,
                    $"Unknown control message type '{message.Type}'. Send {{\"type\":\"resize\",\"cols\":80,\"rows\":24}}; input goes in binary messages.");
            }
            // A bad size is answered now; a good one may wait for the coalescer, which answers its own errors.
            ShellService.ValidateSize(message.Cols ?? 0, message.Rows ?? 0);
            await _resizes.ResizeAsync(message.Cols ?? 0, message.Rows ?? 0);
        }
        catch (JsonException e)
        {
            await SendTextAsync(new ShellMessage(ShellMessageTypes.Error, Code: ErrorCodes.InvalidRequest,
                Message: JsonBody.Describe(e, ApiJsonContext.Default.ShellMessage, "The control message",
                    " Send {\"type\":\"resize\",\"cols\":80,\"rows\":24}; input goes in binary messages.")), token);
        }
        catch (HutchException e) when (e.Code != ErrorCodes.SandboxDied)
        {
            await SendTextAsync(new ShellMessage(ShellMessageTypes.Error, Code: e.Code, Message: e.Message), token);
        }
    }

    /// <summary>One resize the coalescer lets through; a refusal is an error message and the session goes on.</summary>
    private async Task ApplyResizeAsync(int cols, int rows, CancellationToken token)
    {
        try
        {
            await ShellService.ResizeAsync(_shell, cols, rows, token);
        }
        catch (HutchException e) when (e.Code != ErrorCodes.SandboxDied)
        {
            await SendTextAsync(new ShellMessage(ShellMessageTypes.Error, Code: e.Code, Message: e.Message), token);
        }
    }

    private Task SendTextAsync(ShellMessage message, CancellationToken token) =>
        SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, ApiJsonContext.Default.ShellMessage), WebSocketMessageType.Text, token);

    /// <summary>One message at a time: a WebSocket allows one send in flight, and both pumps send.</summary>
    private async Task SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type, CancellationToken token)
    {
        await _sendGate.WaitAsync(token);
        try
        {
            await _socket.SendAsync(data, type, endOfMessage: true, token);
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>Starts (or answers) the close handshake, once.</summary>
    private async Task CloseAsync(WebSocketCloseStatus status, string reason, CancellationToken token)
    {
        await _sendGate.WaitAsync(token);
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(status, reason, token);
            }
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>A pump's end: cancellation, a dropped connection or a sandbox that died all just end the session.</summary>
    private static async Task Quietly(Task pump)
    {
        try
        {
            await pump;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or HutchException or IOException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Dispose();
        _sendGate.Dispose();
        return ValueTask.CompletedTask;
    }
}
