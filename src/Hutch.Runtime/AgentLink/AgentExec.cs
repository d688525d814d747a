using System.Threading.Channels;
using Hutch.Protocol.Agent;

namespace Hutch.Runtime.AgentLink;

/// <summary>One running command on a control channel: its frames in, stdin and signals out.</summary>
/// <param name="ownsConnection">The connection was opened for this command alone and closes with it.</param>
public sealed class AgentExec(AgentConnection connection, uint channel, ChannelReader<Frame> frames, bool ownsConnection = false) : IDisposable
{
    /// <summary>Started, Stdout, Stderr, then exactly one Exited or Error.</summary>
    public ChannelReader<Frame> Frames { get; } = frames;

    public ValueTask WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        WriteChunksAsync(FrameKind.Stdin, data, cancellationToken);

    /// <summary>The script the start announced (<see cref="ExecStart.ScriptBytes"/>), all of it: the command starts after its last byte.</summary>
    public ValueTask WriteScriptAsync(ReadOnlyMemory<byte> script, CancellationToken cancellationToken = default) =>
        WriteChunksAsync(FrameKind.Script, script, cancellationToken);

    private async ValueTask WriteChunksAsync(FrameKind kind, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < data.Length; offset += FrameCodec.MaxPayload)
        {
            var chunk = data.Slice(offset, Math.Min(FrameCodec.MaxPayload, data.Length - offset));
            await connection.SendAsync(kind, channel, chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask CloseStdinAsync(CancellationToken cancellationToken = default) =>
        connection.SendAsync(FrameKind.StdinEof, channel, ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>Signals the command's whole process tree (the agent finds it by session and parentage).</summary>
    public ValueTask KillAsync(int signal, CancellationToken cancellationToken = default) =>
        connection.SendJsonAsync(FrameKind.Kill, channel, new ExecKill(signal), AgentJsonContext.Default.ExecKill, cancellationToken);

    public void Dispose()
    {
        connection.Release(channel);
        if (ownsConnection)
        {
            // Closing waits for the read loop to end; nothing here needs to wait for that.
            _ = connection.DisposeAsync().AsTask();
        }
    }
}
