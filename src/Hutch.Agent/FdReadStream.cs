using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// A read-only stream over a blocking descriptor whose ReadAsync completes synchronously, so the
/// shared <see cref="Hutch.Protocol.Agent.FrameCodec"/> decodes frames on the connection's own
/// thread without a thread pool (which would cost memory in every sandbox).
/// </summary>
internal sealed class FdReadStream(SafeFileHandle fd) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer) => Fds.Read(fd, buffer);

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
