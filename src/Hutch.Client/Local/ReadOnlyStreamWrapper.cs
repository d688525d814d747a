namespace Hutch.Client.Local;

/// <summary>
/// A read-only stream over another, which it owns and disposes: the writing and seeking half of
/// <see cref="Stream"/> said once. Subclasses decide how reads pass through (checked, translated)
/// and whether they report a length.
/// </summary>
internal abstract class ReadOnlyStreamWrapper(Stream inner) : Stream
{
    /// <summary>The stream read from.</summary>
    protected Stream Inner => inner;

    public override bool CanRead => true;

    public override bool CanWrite => false;

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
