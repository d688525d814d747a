using Hutch.Protocol.Api;

namespace Hutch.Files.Archives;

/// <summary>
/// The output of an export, held to a cap of bytes: a file whose size would pass the cap is refused
/// before its header is written (so an export whose first member is too big, like a 1 TiB sparse
/// file, is refused before any byte: 413 archive_too_large), and any write past the cap fails the
/// same way (then the stream ends without the tar's end marker: the reader sees it is incomplete).
/// Sparse files are exported as their apparent size (TarWriter writes no GNU/pax sparse maps), so
/// their holes count against the cap as the zeros a reader would get.
/// </summary>
internal sealed class ExportBudget(Stream output, long maxBytes) : Stream
{
    /// <summary>A tar header block and the pax extended header before it, about what one member adds besides its data.</summary>
    private const long HeaderBytes = 3 * 512;

    public long Written { get; private set; }

    /// <summary>Refuses a member of <paramref name="size"/> data bytes that cannot fit in what is left.</summary>
    public void CheckFits(string member, long size)
    {
        if (Written + HeaderBytes + size > maxBytes)
        {
            throw TooLarge(member, size);
        }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Spend(buffer.Length);
        output.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Spend(buffer.Length);
        return output.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => output.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private void Spend(int count)
    {
        if (Written + count > maxBytes)
        {
            throw TooLarge(null, 0);
        }
        Written += count;
    }

    private WorkspaceException TooLarge(string? member, long size) => new(ErrorCodes.ArchiveTooLarge, (member is null
            ? $"The export would be larger than maxBytes ({maxBytes} bytes), so it stopped there. "
            : $"The export would be larger than maxBytes ({maxBytes} bytes): '{ArchiveErrors.Shown(member)}' alone is {size} bytes (a sparse file counts at its apparent size). ")
        + "Export less (a subdirectory, or include only some paths), download big files in ranges (GET …/files/content with Range), " +
        $"or ask for a larger maxBytes (at most {ExportLimits.MaxBytes}).");
}

/// <summary>How many bytes one export may produce: the request's maxBytes, else the default.</summary>
public static class ExportLimits
{
    public const long DefaultMaxBytes = 10L << 30;
    public const long MaxBytes = 256L << 30;

    /// <summary>The cap for a request's maxBytes (null: the default); out of range is invalid_request.</summary>
    public static long Resolve(long? requested) => requested switch
    {
        null => DefaultMaxBytes,
        >= 1 and <= MaxBytes => requested.Value,
        _ => throw new WorkspaceException(ErrorCodes.InvalidRequest,
            $"maxBytes must be between 1 and {MaxBytes} (256 GiB); leave it out for the default of {DefaultMaxBytes} (10 GiB)."),
    };
}
