using System.Net.Sockets;

namespace Hutch.Agent;

/// <summary>
/// A read-only stream over a blocking socket whose ReadAsync completes synchronously, so the
/// shared <see cref="Hutch.Protocol.Agent.FrameCodec"/> can decode frames on the connection's own
/// thread without waking the socket engine or the thread pool (both cost memory in every sandbox).
/// </summary>
internal sealed class SocketReadStream(Socket socket) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer) => socket.Receive(buffer, SocketFlags.None);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
