using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// A buffered read-only stream over a blocking descriptor whose ReadAsync completes synchronously,
/// so the shared <see cref="Hutch.Protocol.Agent.FrameCodec"/> decodes frames on the connection's
/// own thread without a thread pool (which would cost memory in every sandbox). The kernel reads
/// land in one pinned-heap buffer: the connection thread spends its life blocked in read(2), and a
/// gen0 array pinned there would keep a whole GC region from being freed (see <see cref="Buffers"/>).
/// </summary>
internal sealed class FdReadStream(SafeFileHandle fd) : Stream
{
    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);
    private int _start;
    private int _end;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }
        if (_start == _end)
        {
            _start = 0;
            _end = Fds.Read(fd, _buffer);
            if (_end == 0)
            {
                return 0;
            }
        }
        var n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

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
