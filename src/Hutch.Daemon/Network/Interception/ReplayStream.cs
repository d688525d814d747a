namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// A stream that gives back bytes already read (a ClientHello, read to decide whether to intercept)
/// before reading on from the stream they came from; writes go straight through. What SslStream
/// is handed as the sandbox's side of an intercepted connection.
/// </summary>
internal sealed class ReplayStream(ReadOnlyMemory<byte> first, Stream inner) : Stream
{
    private ReadOnlyMemory<byte> _first = first;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_first.IsEmpty)
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        var n = Math.Min(buffer.Length, _first.Length);
        _first[..n].CopyTo(buffer);
        _first = _first[n..];
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
