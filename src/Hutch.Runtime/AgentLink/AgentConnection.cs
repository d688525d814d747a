using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Channels;
using Hutch.Protocol.Agent;

namespace Hutch.Runtime.AgentLink;

/// <summary>
/// The daemon's end of one sandbox's control channel: a Unix socket whose path exists only on the
/// host, connected to the agent (the sandbox's init). Requests are multiplexed by channel id; one
/// reader loop routes the agent's frames to the request that owns the channel. When the connection
/// ends (the agent died or the sandbox was deleted) every open request gets a sandbox_died error,
/// so no caller ever waits forever.
/// </summary>
public sealed class AgentConnection : IAsyncDisposable
{
    public const string SandboxDiedCode = AgentErrorCodes.SandboxDied;

    /// <summary>Frames a request's channel holds before the read loop waits for its reader.</summary>
    private const int FramesPerChannel = 16;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameWriter _writer;
    private readonly ConcurrentDictionary<uint, Channel<Frame>> _channels = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _readLoop;
    private uint _nextChannel;

    private AgentConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _writer = new FrameWriter(_stream);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Completes when the connection has ended, for whatever reason.</summary>
    public Task Completion => _readLoop;

    public bool IsOpen => !_readLoop.IsCompleted;

    public static async Task<AgentConnection> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            return new AgentConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Asks the agent who it is; proves the channel works end to end.</summary>
    public async Task<AgentHello> PingAsync(CancellationToken cancellationToken)
    {
        var (channel, frames) = Open();
        try
        {
            await _writer.WriteAsync(FrameKind.Ping, channel, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            var frame = await frames.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return frame.Kind switch
            {
                FrameKind.Pong => JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentHello)!,
                FrameKind.Error => throw new AgentException(JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentError)!),
                _ => throw new InvalidDataException($"agent answered ping with {frame.Kind}"),
            };
        }
        finally
        {
            _channels.TryRemove(channel, out _);
        }
    }

    /// <summary>
    /// Starts a command on a connection of its own, closed when the command's session is disposed.
    /// A stream whose reader is slow then holds back only its own command (the agent stops reading
    /// that command's pipes), never the shared connection every other request of the sandbox uses.
    /// </summary>
    public static async Task<AgentExec> StartDedicatedExecAsync(string socketPath, ExecStart start, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(socketPath, cancellationToken).ConfigureAwait(false);
        try
        {
            return await connection.StartExecAsync(start, cancellationToken, ownsConnection: true).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts a command. Read its frames from the returned session until Exited or Error.</summary>
    public Task<AgentExec> StartExecAsync(ExecStart start, CancellationToken cancellationToken, bool ownsConnection = false) =>
        StartAsync(FrameKind.ExecStart, start, AgentJsonContext.Default.ExecStart, cancellationToken, ownsConnection);

    /// <summary>Starts a durable process. Its session ends with Started (or Error); its output goes to its log.</summary>
    public Task<AgentExec> StartProcessAsync(ProcessStart start, CancellationToken cancellationToken) =>
        StartAsync(FrameKind.ProcessStart, start, AgentJsonContext.Default.ProcessStart, cancellationToken, ownsConnection: false);

    private async Task<AgentExec> StartAsync<T>(FrameKind kind, T start, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken, bool ownsConnection)
    {
        var (channel, frames) = Open();
        try
        {
            await _writer.WriteJsonAsync(kind, channel, start, type, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _channels.TryRemove(channel, out _);
            throw;
        }
        return new AgentExec(this, channel, frames.Reader, ownsConnection);
    }

    /// <summary>Sends one request and waits for its Ok.</summary>
    /// <exception cref="AgentException">The agent refused it (or the sandbox stopped).</exception>
    public async Task RequestAsync<T>(FrameKind kind, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var (channel, frames) = Open();
        try
        {
            await _writer.WriteJsonAsync(kind, channel, value, type, cancellationToken).ConfigureAwait(false);
            var frame = await frames.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            switch (frame.Kind)
            {
                case FrameKind.Ok:
                    return;
                case FrameKind.Error:
                    throw new AgentException(JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentError)!);
                default:
                    throw new InvalidDataException($"agent answered {kind} with {frame.Kind}");
            }
        }
        finally
        {
            _channels.TryRemove(channel, out _);
        }
    }

    internal ValueTask SendAsync(FrameKind kind, uint channel, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        _writer.WriteAsync(kind, channel, payload, cancellationToken);

    internal ValueTask SendJsonAsync<T>(FrameKind kind, uint channel, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        _writer.WriteJsonAsync(kind, channel, value, type, cancellationToken);

    internal void Release(uint channel) => _channels.TryRemove(channel, out _);

    private (uint, Channel<Frame>) Open()
    {
        if (!IsOpen)
        {
            throw new AgentException(new AgentError(SandboxDiedCode, "the sandbox's agent is gone"));
        }
        var id = Interlocked.Increment(ref _nextChannel);
        // Bounded: a slow reader slows the agent down (back-pressure) instead of filling the daemon's memory.
        // Small, because every command whose reader stopped holds this much: 16 output frames of the
        // agent's 64 KiB chunks are 1 MiB (256 were 16 MiB: 24 stopped streams grew the daemon by 424 MiB).
        var frames = Channel.CreateBounded<Frame>(new BoundedChannelOptions(FramesPerChannel) { SingleReader = true, SingleWriter = true });
        _channels[id] = frames;
        return (id, frames);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await FrameCodec.ReadAsync(_stream, _closing.Token).ConfigureAwait(false) is { } frame)
            {
                if (_channels.TryGetValue(frame.Channel, out var target))
                {
                    await target.Writer.WriteAsync(frame, _closing.Token).ConfigureAwait(false);
                    if (frame.Kind is FrameKind.Exited or FrameKind.Error or FrameKind.Pong or FrameKind.Ok)
                    {
                        target.Writer.TryComplete();
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            // The connection ended; every waiting request is told below.
        }
        finally
        {
            var died = JsonSerializer.SerializeToUtf8Bytes(
                new AgentError(SandboxDiedCode, "the sandbox stopped while the request ran: its init process ended (deleted, or killed)"),
                AgentJsonContext.Default.AgentError);
            foreach (var (id, channel) in _channels)
            {
                channel.Writer.TryWrite(new Frame(FrameKind.Error, id, died));
                channel.Writer.TryComplete();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        _socket.Shutdown(SocketShutdown.Both);
        _socket.Dispose();
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closing anyway.
        }
        _closing.Dispose();
    }
}

/// <summary>An error the agent reported for a request, with its code.</summary>
public sealed class AgentException(AgentError error) : Exception(error.Message)
{
    public AgentError Error { get; } = error;
    public string Code => Error.Code;
}
