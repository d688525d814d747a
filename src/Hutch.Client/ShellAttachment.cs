using System.Net.WebSockets;
using System.Text.Json;
using Hutch.Protocol.Api;

namespace Hutch.Client;

/// <summary>What an attached shell sends: output, a cursor, its exit, or the refusal of a control message.</summary>
public abstract record ShellEvent;

/// <summary>Bytes the terminal wrote (escape sequences included), exactly as the program wrote them.</summary>
public sealed record ShellOutputEvent(ReadOnlyMemory<byte> Data) : ShellEvent;

/// <summary>The log position of everything received so far: attach again with it to go on where this left off.</summary>
public sealed record ShellCursorEvent(long Cursor) : ShellEvent;

/// <summary>The shell ended: its exit code, or the signal that ended it. The server closes after this.</summary>
public sealed record ShellExitEvent(int? ExitCode, string? Signal) : ShellEvent;

/// <summary>The daemon refused a control message (a resize out of range, say), or the shell's sandbox went away.</summary>
public sealed record ShellErrorEvent(string Code, string Message) : ShellEvent;

/// <summary>
/// A live terminal session on a shell (from <see cref="HutchClient.AttachShellAsync"/>): send it
/// keys and sizes, read its events. One reader and one writer may work at once. Disposing it
/// detaches; the shell runs on and can be attached again from <see cref="Cursor"/>.
/// </summary>
public sealed class ShellAttachment : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly byte[] _buffer = new byte[64 * 1024];

    internal ShellAttachment(ClientWebSocket socket, ProcessInfo shell, long cursor)
    {
        _socket = socket;
        Shell = shell;
        Cursor = cursor;
    }

    /// <summary>The shell as it was when this attachment was made.</summary>
    public ProcessInfo Shell { get; }

    /// <summary>The cursor of the output received so far (updated by each <see cref="ShellCursorEvent"/>).</summary>
    public long Cursor { get; private set; }

    /// <summary>How the shell ended, once its <see cref="ShellExitEvent"/> was read; null before.</summary>
    public ShellExitEvent? Exit { get; private set; }

    /// <summary>Types bytes on the terminal.</summary>
    public async ValueTask SendInputAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (data.IsEmpty)
        {
            return;
        }
        await SendAsync(data, WebSocketMessageType.Binary, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Types text (UTF-8) on the terminal: <c>SendInputAsync("ls\r")</c>.</summary>
    public ValueTask SendInputAsync(string text, CancellationToken cancellationToken = default) =>
        SendInputAsync(System.Text.Encoding.UTF8.GetBytes(text), cancellationToken);

    /// <summary>Sets the terminal's size (1-1000 each). A refusal comes back as a <see cref="ShellErrorEvent"/>.</summary>
    public async ValueTask ResizeAsync(int cols, int rows, CancellationToken cancellationToken = default)
    {
        var message = JsonSerializer.SerializeToUtf8Bytes(new ShellMessage(ShellMessageTypes.Resize, Cols: cols, Rows: rows), HutchClient.Json.ShellMessage);
        await SendAsync(message, WebSocketMessageType.Text, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The next event; null once the connection has closed (after the exit event when the shell
    /// ended). A <see cref="ShellOutputEvent"/>'s data is the caller's to keep.
    /// </summary>
    /// <exception cref="HutchApiException">The connection broke (<see cref="ClientErrorCodes.StreamInterrupted"/>): attach again from <see cref="Cursor"/>.</exception>
    public async ValueTask<ShellEvent?> ReadAsync(CancellationToken cancellationToken = default)
    {
        using var text = new MemoryStream();
        while (true)
        {
            ValueWebSocketReceiveResult received;
            try
            {
                received = await _socket.ReceiveAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            }
            catch (WebSocketException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0,
                    $"The connection to shell {Shell.Id} broke; attach again with cursor {Cursor} to go on.", e);
            }
            switch (received.MessageType)
            {
                case WebSocketMessageType.Close:
                    await CloseAsync(cancellationToken).ConfigureAwait(false);
                    return null;
                case WebSocketMessageType.Binary:
                    // A binary message larger than the buffer arrives in pieces: each is output as it is.
                    return new ShellOutputEvent(_buffer.AsSpan(0, received.Count).ToArray());
                default:
                    text.Write(_buffer, 0, received.Count);
                    if (!received.EndOfMessage)
                    {
                        break;
                    }
                    if (ToEvent(text.ToArray()) is { } e)
                    {
                        return e;
                    }
                    text.SetLength(0);
                    break;
            }
        }
    }

    /// <summary>A text message as an event; null for a type this client does not know (a newer daemon's).</summary>
    private ShellEvent? ToEvent(byte[] json)
    {
        ShellMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(json, HutchClient.Json.ShellMessage);
        }
        catch (JsonException e)
        {
            throw new HutchApiException(ClientErrorCodes.InvalidResponse, 0, $"The daemon sent a control message this client cannot read: {e.Message}", e);
        }
        switch (message?.Type)
        {
            case ShellMessageTypes.Cursor when message.Cursor is { } cursor:
                Cursor = cursor;
                return new ShellCursorEvent(cursor);
            case ShellMessageTypes.Exit:
                Exit = new ShellExitEvent(message.ExitCode, message.Signal);
                return Exit;
            case ShellMessageTypes.Error:
                return new ShellErrorEvent(message.Code ?? ErrorCodes.Internal, message.Message ?? "");
            default:
                return null;
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(data, type, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0, $"The connection to shell {Shell.Id} broke: {e.Message}", e);
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>Starts or answers the close handshake, once, under the send lock (a close is a send).</summary>
    private async ValueTask CloseAsync(CancellationToken cancellationToken)
    {
        await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "detached", cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>Detaches: closes the WebSocket (politely when it is still open). The shell runs on.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await CloseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Gone already: nothing to be polite to.
        }
        _socket.Dispose();
        _sendGate.Dispose();
    }
}
