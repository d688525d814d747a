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

/// <summary>An exec attached to a request: output as frames on the request's channel.</summary>
internal sealed class ChannelOutput(Connection connection, uint channel) : IExecOutput
{
    public void Write(FrameKind kind, byte[] buffer, int payloadLength) => connection.Send(kind, channel, buffer, payloadLength);

    public void Exited(Exec exec, ExecExited exit)
    {
        // Forget first: the daemon may reuse the channel as soon as it reads Exited.
        connection.Forget(channel, exec);
        connection.SendJson(FrameKind.Exited, channel, json => AgentJson.Write(json, exit));
    }

    /// <summary>Commands on a channel never have a terminal (only durable processes do).</summary>
    public void TerminalResized(int cols, int rows)
    {
    }
}
