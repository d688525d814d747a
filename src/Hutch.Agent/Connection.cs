using System.Text.Json;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// One control connection from the daemon: a thread that reads frames and dispatches them, and a
/// send lock shared by every exec that writes output to it. Requests are multiplexed by channel
/// (chosen by the daemon, one per request). Nothing a peer sends may crash the agent: bad input
/// becomes an Error frame on its channel, a broken stream ends only this connection.
/// </summary>
internal sealed class Connection(AgentServer server, SafeFileHandle socket, int id)
{
    private readonly Lock _sendGate = new();
    private readonly Lock _execGate = new();
    private readonly Dictionary<uint, Exec> _execs = [];

    /// <summary>Scripts still arriving, by channel; only the read thread touches them.</summary>
    private readonly Dictionary<uint, PendingScript> _scripts = [];
    private bool _closed;

    public void Start() => new Thread(Run, 256 * 1024) { IsBackground = true, Name = "connection" }.Start();

    private void Run()
    {
        var stream = new FdReadStream(socket);
        try
        {
            while (true)
            {
                // FdReadStream completes synchronously, so this never blocks on a pending task.
                var frame = FrameCodec.ReadAsync(stream).GetAwaiter().GetResult();
                if (frame is not { } f)
                {
                    break;
                }
                Handle(f);
            }
        }
        catch (Exception e)
        {
            // A broken stream (EOF mid-frame, a frame over the limit, a reset) ends this
            // connection only; nothing a peer sends may take the agent down.
            Log.Write($"connection {id}: {e.Message}");
        }
        finally
        {
            foreach (var script in _scripts.Values)
            {
                script.Dispose();
            }
            _scripts.Clear();
            lock (_sendGate)
            {
                // Under the send lock: no exec thread is using the descriptor while it closes.
                _closed = true;
                socket.Dispose();
            }
            List<Exec> running;
            lock (_execGate)
            {
                running = [.. _execs.Values];
            }
            // Nobody can send them input any more: give them end of file rather than a stdin that never ends.
            // Nobody reads their output either: each carries on as a background process that a restarted daemon lists and can stop.
            var adopted = new List<string>();
            foreach (var exec in running)
            {
                exec.StdinEof();
                if (exec.Output is ChannelOutput output && server.Processes.Adopt(exec, output) is { } process)
                {
                    adopted.Add($"{process} (pid {exec.Pid})");
                }
            }
            Log.Write($"connection {id} closed ({running.Count} commands keep running{(adopted.Count > 0 ? ", as background processes " + string.Join(", ", adopted) : "")})");
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
                    var hello = new AgentHello(AgentServer.Version, Environment.ProcessId, server.UptimeMs);
                    SendJson(FrameKind.Pong, channel, json => AgentJson.Write(json, hello));
                    break;
                case FrameKind.ExecStart:
                    var start = AgentJson.ReadExecStart(frame.Payload.Span);
                    if (start.ScriptBytes > 0)
                    {
                        ReceiveScript(channel, start);
                    }
                    else
                    {
                        StartExec(channel, start);
                    }
                    break;
                case FrameKind.Script:
                    AppendScript(channel, frame.Payload.Span);
                    break;
                case FrameKind.ProcessStart:
                    StartProcess(channel, AgentJson.ReadProcessStart(frame.Payload.Span));
                    break;
                case FrameKind.Stdin:
                    Find(channel)?.Stdin(frame.Payload);
                    break;
                case FrameKind.StdinEof:
                    Find(channel)?.StdinEof();
                    break;
                case FrameKind.ProcessInput:
                    var input = AgentJson.ReadProcessInput(frame.Payload.Span);
                    if (WithProcess(channel, input.Id) is not { } target)
                    {
                        break;
                    }
                    if (!target.HasStdin)
                    {
                        SendError(channel, AgentErrorCodes.NoStdin, $"process {input.Id} was started without stdin");
                    }
                    else
                    {
                        if (input.Data is { Length: > 0 } data)
                        {
                            target.Stdin(data);
                        }
                        if (input.Eof)
                        {
                            target.StdinEof();
                        }
                        Send(FrameKind.Ok, channel, new byte[FrameCodec.HeaderSize], 0);
                    }
                    break;
                case FrameKind.ProcessSignal:
                    var signal = AgentJson.ReadProcessSignal(frame.Payload.Span);
                    if (signal.Signal is < 1 or > 64 || signal.GraceMs < 0)
                    {
                        SendError(channel, AgentErrorCodes.BadRequest, "a process signal needs a signal number between 1 and 64 and a grace of 0 or more ms");
                    }
                    else if (WithProcess(channel, signal.Id) is { } process)
                    {
                        Answer(channel, SignalProcess(process, signal));
                    }
                    break;
                case FrameKind.SecretFile:
                    Answer(channel, SecretFiles.Write(AgentJson.ReadSecretFile(frame.Payload.Span)));
                    break;
                case FrameKind.ProcessResize:
                    var resize = AgentJson.ReadProcessResize(frame.Payload.Span);
                    if (resize.Cols is < 1 or > Pty.MaxDimension || resize.Rows is < 1 or > Pty.MaxDimension)
                    {
                        SendError(channel, AgentErrorCodes.BadRequest, $"a terminal size is 1-{Pty.MaxDimension} columns by 1-{Pty.MaxDimension} rows");
                    }
                    else if (WithProcess(channel, resize.Id) is { } terminal)
                    {
                        Answer(channel, terminal.Resize(resize.Cols, resize.Rows));
                    }
                    break;
                case FrameKind.Kill:
                    var kill = AgentJson.ReadExecKill(frame.Payload.Span);
                    if (kill.Signal is < 1 or > 64)
                    {
                        SendError(channel, AgentErrorCodes.BadRequest, "kill needs a signal number between 1 and 64");
                        break;
                    }
                    // A kill for a command that already ended is not an error: the two crossed.
                    Find(channel)?.Signal(kill.Signal);
                    break;
                default:
                    SendError(channel, AgentErrorCodes.UnknownFrame, $"frame kind 0x{(byte)frame.Kind:x2} is not a request this agent ({AgentServer.Version}) understands");
                    break;
            }
        }
        catch (JsonException e)
        {
            SendError(channel, AgentErrorCodes.BadRequest, $"malformed JSON payload for frame kind 0x{(byte)frame.Kind:x2}: {e.Message}");
        }
        catch (Exception e)
        {
            Log.Write($"connection {id}: frame kind 0x{(byte)frame.Kind:x2} on channel {channel} failed: {e.Message}");
            SendError(channel, AgentErrorCodes.Internal, $"the agent failed to handle frame kind 0x{(byte)frame.Kind:x2}: {e.Message}");
        }
    }

    /// <summary>The running durable process a request names, or null after answering with an error.</summary>
    private Exec? WithProcess(uint channel, string id)
    {
        var process = server.Processes.Find(id);
        if (process is null)
        {
            SendError(channel, AgentErrorCodes.ProcessNotRunning, $"no running process has id {id}");
        }
        return process;
    }

    private void StartProcess(uint channel, ProcessStart request)
    {
        var error = server.Processes.TryStart(server, request, out var exec);
        if (error is not null)
        {
            SendJson(FrameKind.Error, channel, json => AgentJson.Write(json, error));
            return;
        }
        var started = new ExecStarted(exec!.Pid);
        SendJson(FrameKind.Started, channel, json => AgentJson.Write(json, started));
        exec.Run();
    }

    /// <summary>An exec whose script follows: it starts when the script's last frame is in.</summary>
    private void ReceiveScript(uint channel, ExecStart request)
    {
        if (Find(channel) is not null || _scripts.ContainsKey(channel))
        {
            SendError(channel, AgentErrorCodes.BadRequest, $"channel {channel} is still running a command: use a new channel per request");
            return;
        }
        var error = PendingScript.TryCreate(request, out var script);
        _scripts[channel] = script; // a failed one too: it takes the frames still on their way
        if (error is not null)
        {
            SendJson(FrameKind.Error, channel, json => AgentJson.Write(json, error));
        }
    }

    private void AppendScript(uint channel, ReadOnlySpan<byte> data)
    {
        if (!_scripts.TryGetValue(channel, out var script))
        {
            SendError(channel, AgentErrorCodes.BadRequest, "a Script frame must follow an ExecStart that announced scriptBytes");
            return;
        }
        var failedBefore = script.Failed;
        if (script.Append(data) is { } error && !failedBefore)
        {
            SendJson(FrameKind.Error, channel, json => AgentJson.Write(json, error));
        }
        if (script.IsComplete)
        {
            _scripts.Remove(channel);
            if (!script.Failed)
            {
                // The command has its own descriptor of the file once spawned: ours goes either way.
                using (script)
                {
                    StartExec(channel, script.Request, script.File);
                }
            }
        }
    }

    private void StartExec(uint channel, ExecStart request, SafeFileHandle? script = null)
    {
        if (Find(channel) is not null)
        {
            SendError(channel, AgentErrorCodes.BadRequest, $"channel {channel} is still running a command: use a new channel per request");
            return;
        }
        Exec? exec = null;
        // Its redaction set is built now, so handing it to a log later (the daemon gone) cannot fail.
        var error = ProcessTable.RedactionOf(request.Redact)
            ?? Exec.TryStart(server, new ChannelOutput(this, channel), request, out exec, script: script);
        if (error is not null)
        {
            SendJson(FrameKind.Error, channel, json => AgentJson.Write(json, error));
            return;
        }
        lock (_execGate)
        {
            _execs[channel] = exec!;
        }
        var started = new ExecStarted(exec!.Pid);
        SendJson(FrameKind.Started, channel, json => AgentJson.Write(json, started));
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

    private static AgentError? SignalProcess(Exec process, ProcessSignal signal)
    {
        if (signal.Foreground)
        {
            return process.SignalForeground(signal.Signal);
        }
        if (signal.GraceMs > 0)
        {
            process.Terminate(signal.Signal, signal.GraceMs, signal.ChildrenOnly);
        }
        else
        {
            process.Signal(signal.Signal, signal.ChildrenOnly);
        }
        return null;
    }

    /// <summary>Ok, or the error a request ended with.</summary>
    private void Answer(uint channel, AgentError? error)
    {
        if (error is null)
        {
            Send(FrameKind.Ok, channel, new byte[FrameCodec.HeaderSize], 0);
        }
        else
        {
            SendJson(FrameKind.Error, channel, json => AgentJson.Write(json, error));
        }
    }

    public void SendError(uint channel, string code, string message)
    {
        var error = new AgentError(code, message);
        SendJson(FrameKind.Error, channel, json => AgentJson.Write(json, error));
    }

    public void SendJson(FrameKind kind, uint channel, AgentJson.Writer properties)
    {
        var frame = AgentJson.Frame(properties, out var length);
        Send(kind, channel, frame, length);
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
            bool sent;
            try
            {
                sent = UnixSockets.SendAll(socket, frame.AsSpan(0, FrameCodec.HeaderSize + payloadLength));
            }
            catch (IOException e)
            {
                Log.Write($"connection {id}: send failed: {e.Message}");
                sent = false;
            }
            if (!sent)
            {
                // The daemon is gone: stop sending and wake the read loop, which closes the socket.
                _closed = true;
                UnixSockets.Shutdown(socket);
            }
        }
    }
}
