using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hutch.Protocol.Agent;

namespace Hutch.Agent;

/// <summary>
/// One control connection from the daemon: a thread that reads frames and dispatches them, and a
/// send lock shared by every exec that writes output to it. Requests are multiplexed by channel
/// (chosen by the daemon, one per request). Nothing a peer sends may crash the agent: bad input
/// becomes an Error frame on its channel, a broken stream ends only this connection.
/// </summary>
internal sealed class Connection(AgentServer server, Socket socket, int id)
{
    private readonly Lock _sendGate = new();
    private readonly Lock _execGate = new();
    private readonly Dictionary<uint, Exec> _execs = [];
    private bool _closed;

    public void Start() => new Thread(Run, 256 * 1024) { IsBackground = true, Name = "connection" }.Start();

    private void Run()
    {
        var stream = new SocketReadStream(socket);
        try
        {
            while (true)
            {
                // SocketReadStream completes synchronously, so this never blocks on a pending task.
                var frame = FrameCodec.ReadAsync(stream).GetAwaiter().GetResult();
                if (frame is not { } f)
                {
                    break;
                }
                Handle(f);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidDataException or ObjectDisposedException)
        {
            Log.Write($"connection {id}: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            lock (_sendGate)
            {
                _closed = true;
            }
            socket.Dispose();
            List<Exec> running;
            lock (_execGate)
            {
                running = [.. _execs.Values];
            }
            // Nobody can send them input any more: give them end of file rather than a stdin that never ends.
            foreach (var exec in running)
            {
                exec.StdinEof();
            }
            Log.Write($"connection {id} closed ({running.Count} commands keep running)");
        }
    }

    private void Handle(Frame frame)
    {
        var channel = frame.Channel;
        try
        {
            switch (frame.Kind)
            {
                case FrameKind.Ping:
                    SendJson(FrameKind.Pong, channel, new AgentHello(AgentServer.Version, Environment.ProcessId, server.UptimeMs), AgentJsonContext.Default.AgentHello);
                    break;
                case FrameKind.ExecStart:
                    StartExec(channel, frame.Payload);
                    break;
                case FrameKind.Stdin:
                    Find(channel)?.Stdin(frame.Payload);
                    break;
                case FrameKind.StdinEof:
                    Find(channel)?.StdinEof();
                    break;
                case FrameKind.Kill:
                    var kill = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.ExecKill);
                    if (kill is null || kill.Signal is < 1 or > 64)
                    {
                        SendError(channel, "bad_request", "kill needs a signal number between 1 and 64");
                        break;
                    }
                    // A kill for a command that already ended is not an error: the two crossed.
                    Find(channel)?.Signal(kill.Signal);
                    break;
                default:
                    SendError(channel, "unknown_frame", $"frame kind 0x{(byte)frame.Kind:x2} is not a request this agent ({AgentServer.Version}) understands");
                    break;
            }
        }
        catch (JsonException e)
        {
            SendError(channel, "bad_request", $"malformed {frame.Kind} payload: {e.Message}");
        }
        catch (Exception e)
        {
            Log.Write($"connection {id}: {frame.Kind} on channel {channel} failed: {e.GetType().Name}: {e.Message}");
            SendError(channel, "internal_error", $"the agent failed to handle {frame.Kind}: {e.Message}");
        }
    }

    private void StartExec(uint channel, ReadOnlyMemory<byte> payload)
    {
        var request = JsonSerializer.Deserialize(payload.Span, AgentJsonContext.Default.ExecStart);
        if (request is null)
        {
            SendError(channel, "bad_request", "ExecStart needs a JSON object");
            return;
        }
        if (Find(channel) is not null)
        {
            SendError(channel, "bad_request", $"channel {channel} is still running a command: use a new channel per request");
            return;
        }
        var error = Exec.TryStart(server, this, channel, request, out var exec);
        if (error is not null)
        {
            SendJson(FrameKind.Error, channel, error, AgentJsonContext.Default.AgentError);
            return;
        }
        lock (_execGate)
        {
            _execs[channel] = exec!;
        }
        SendJson(FrameKind.Started, channel, new ExecStarted(exec!.Pid), AgentJsonContext.Default.ExecStarted);
        exec.Run();
    }

    private Exec? Find(uint channel)
    {
        lock (_execGate)
        {
            return _execs.GetValueOrDefault(channel);
        }
    }

    /// <summary>The exec is over: its channel is free again.</summary>
    public void Forget(uint channel, Exec exec)
    {
        lock (_execGate)
        {
            if (_execs.TryGetValue(channel, out var current) && current == exec)
            {
                _execs.Remove(channel);
            }
        }
    }

    public void SendError(uint channel, string code, string message) =>
        SendJson(FrameKind.Error, channel, new AgentError(code, message), AgentJsonContext.Default.AgentError);

    public void SendJson<T>(FrameKind kind, uint channel, T value, JsonTypeInfo<T> typeInfo)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        var frame = new byte[FrameCodec.HeaderSize + json.Length];
        json.CopyTo(frame.AsSpan(FrameCodec.HeaderSize));
        Send(kind, channel, frame, json.Length);
    }

    /// <summary>
    /// Sends one frame whose payload already sits in <paramref name="frame"/> after
    /// <see cref="FrameCodec.HeaderSize"/> free bytes (no copy for output chunks). Once the peer is
    /// gone this quietly discards: commands outlive their connection.
    /// </summary>
    public void Send(FrameKind kind, uint channel, byte[] frame, int payloadLength)
    {
        FrameCodec.WriteHeader(frame, kind, channel, payloadLength);
        lock (_sendGate)
        {
            if (_closed)
            {
                return;
            }
            try
            {
                var rest = frame.AsSpan(0, FrameCodec.HeaderSize + payloadLength);
                while (!rest.IsEmpty)
                {
                    rest = rest[socket.Send(rest, SocketFlags.None)..];
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                _closed = true;
                Log.Write($"connection {id}: send failed ({e.Message}); closing it");
                try
                {
                    // Wakes the read loop, which then closes the socket.
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception shutdown) when (shutdown is SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }
}
