using Hutch.Protocol.Agent;

namespace Hutch.Agent;

/// <summary>Where a command's output and exit go: frames to the connection that asked, or a durable log.</summary>
internal interface IExecOutput
{
    /// <summary>
    /// One chunk of output of kind Stdout or Stderr. The payload sits in <paramref name="buffer"/>
    /// after <see cref="FrameCodec.HeaderSize"/> free bytes, so it can be framed without a copy.
    /// </summary>
    void Write(FrameKind kind, byte[] buffer, int payloadLength);

    /// <summary>The command ended and every byte of its output was written.</summary>
    void Exited(Exec exec, ExecExited exit);

    /// <summary>The command's pseudo-terminal was given a new size (called before <see cref="Exited"/>, never after).</summary>
    void TerminalResized(int cols, int rows);
}

/// <summary>
/// An exec attached to a request: output as frames on the request's channel, until the connection
/// closes under it (the daemon stopped or died) and it is handed over to a durable log.
/// </summary>
internal sealed class ChannelOutput(Connection connection, uint channel) : IExecOutput
{
    private readonly Lock _gate = new();
    private IExecOutput? _heir;
    private bool _exited;

    public void Write(FrameKind kind, byte[] buffer, int payloadLength)
    {
        if (Volatile.Read(ref _heir) is { } heir)
        {
            heir.Write(kind, buffer, payloadLength);
            return;
        }
        connection.Send(kind, channel, buffer, payloadLength);
    }

    public void Exited(Exec exec, ExecExited exit)
    {
        IExecOutput? heir;
        lock (_gate)
        {
            _exited = true;
            heir = _heir;
        }
        if (heir is not null)
        {
            heir.Exited(exec, exit);
            return;
        }
        // Forget first: the daemon may reuse the channel as soon as it reads Exited.
        connection.Forget(channel, exec);
        connection.SendJson(FrameKind.Exited, channel, json => AgentJson.Write(json, exit));
    }

    /// <summary>Commands on a channel never have a terminal (only durable processes do).</summary>
    public void TerminalResized(int cols, int rows)
    {
    }

    /// <summary>
    /// Sends the rest of the command's output and its exit to what <paramref name="makeHeir"/> makes
    /// (under the lock that orders it against the exit), unless the command has ended already or
    /// no heir could be made. Returns whether it was handed over.
    /// </summary>
    public bool HandOver(Func<IExecOutput?> makeHeir)
    {
        lock (_gate)
        {
            if (_exited || makeHeir() is not { } heir)
            {
                return false;
            }
            Volatile.Write(ref _heir, heir);
            return true;
        }
    }
}
