using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Archives;

/// <summary>
/// An open regular file as a stream of exactly the size it had when it was opened, read with
/// pread(2) as the tar is written (never buffered whole). The tar header states the size before the
/// data, and the sandbox may grow or shrink the file meanwhile: extra bytes are left out, and a
/// shrunk file is padded with zeros (as GNU tar does), so the archive stays well formed. Seekable,
/// which is how TarWriter learns the size without buffering when its output cannot seek. The
/// caller keeps owning the file handle.
/// </summary>
internal sealed class FileView(SafeFileHandle file, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = Math.Clamp(value, 0, length);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var wanted = Wanted(buffer.Length);
        return wanted == 0 ? 0 : Advance(buffer[..wanted], RandomAccess.Read(file, buffer[..wanted], _position));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var wanted = Wanted(buffer.Length);
        if (wanted == 0)
        {
            return 0;
        }
        var n = await RandomAccess.ReadAsync(file, buffer[..wanted], _position, cancellationToken).ConfigureAwait(false);
        return Advance(buffer.Span[..wanted], n);
    }

    private int Wanted(int room) => (int)Math.Min(room, length - _position);

    private int Advance(Span<byte> chunk, int read)
    {
        if (read == 0)
        {
            chunk.Clear();  // the file shrank: pad up to the size the header already promised
            read = chunk.Length;
        }
        _position += read;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
