using System.IO.Compression;
using System.Security.Cryptography;

namespace Hutch.Runtime.Templates;

/// <summary>
/// A layer blob as the tar stream inside it: the compression found by its magic bytes (a media type
/// can lie, the bytes cannot), decompressed, and read through a <see cref="DigestingStream"/> that
/// hashes and counts the uncompressed bytes (the OCI diff_id is the sha256 of exactly those).
/// </summary>
internal static class LayerInput
{
    private static ReadOnlySpan<byte> Gzip => [0x1f, 0x8b];                              // RFC 1952 §2.3.1
    private static ReadOnlySpan<byte> Zstd => [0x28, 0xb5, 0x2f, 0xfd];                  // RFC 8878 §3.1.1
    private static ReadOnlySpan<byte> Xz => [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];        // xz file format §2.1.1.1
    private static ReadOnlySpan<byte> Bzip2 => [0x42, 0x5a, 0x68];                       // "BZh"

    /// <summary>
    /// The uncompressed tar stream of <paramref name="blob"/> (plain or gzip), hashed and counted. zstd,
    /// xz and bzip2 are refused: .NET 10 has no decoder for them and no zstd package is referenced yet
    /// (System.IO.Compression gains zstd in .NET 11; a native wrapper is not worth its weight for
    /// a format Docker and buildah only write when asked to).
    /// </summary>
    /// <param name="archive">True for a whole image archive rather than one layer: its errors are image_too_large and image_unsupported.</param>
    public static async Task<DigestingStream> OpenAsync(Stream blob, long maxBytes, CancellationToken cancellationToken, bool archive = false)
    {
        var magic = new byte[6];
        var n = await blob.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var head = magic.AsSpan(0, n);
        var replayed = new PrefixedStream(magic.AsMemory(0, n), blob);
        Func<TemplateException> tooLarge = archive
            ? () => new TemplateException(TemplateErrorCodes.ImageTooLarge,
                $"the image archive is larger than {maxBytes} bytes, the most one import may read; raise the limit or import a smaller image")
            : () => new TemplateException(TemplateErrorCodes.LayerTooLarge,
                $"the layer is larger than {maxBytes} bytes uncompressed, the most one layer may hold; split the image's content over more layers, or raise the limit");
        if (head.StartsWith(Gzip))
        {
            return new DigestingStream(new GZipStream(replayed, CompressionMode.Decompress, leaveOpen: false), maxBytes, tooLarge);
        }
        var refused = head.StartsWith(Zstd) ? "zstd" : head.StartsWith(Xz) ? "xz" : head.StartsWith(Bzip2) ? "bzip2" : null;
        if (refused is not null)
        {
            throw new TemplateException(archive ? TemplateErrorCodes.ImageUnsupported : TemplateErrorCodes.LayerUnsupported,
                $"the {(archive ? "image archive" : "layer")} is {refused}-compressed, which Hutch does not read yet; only plain and gzip-compressed tars are. " +
                "Export the image with gzip layers (for example `skopeo copy --dest-compress-format gzip` or `buildah push --compression-format gzip`).");
        }
        return new DigestingStream(replayed, maxBytes, tooLarge);
    }

    /// <summary>
    /// What TarReader and GZipStream throw for a damaged, truncated or non-tar stream: bad checksums
    /// and gzip data (InvalidDataException), an early end (EndOfStreamException), a metadata header
    /// that claims too many bytes (InvalidOperationException), unparseable numbers (FormatException,
    /// OverflowException, ArgumentException).
    /// </summary>
    public static bool IsBroken(Exception e) => e is InvalidDataException or EndOfStreamException or InvalidOperationException
        or FormatException or OverflowException or ArgumentException or NotSupportedException;

    public static TemplateException Broken(Exception e) => e switch
    {
        EndOfStreamException => new TemplateException(TemplateErrorCodes.LayerInvalid,
            "the layer ends in the middle of an entry (a truncated blob?); export the image again", e),
        NotSupportedException => new TemplateException(TemplateErrorCodes.LayerUnsupported,
            $"the layer has a tar entry Hutch cannot read ({e.Message}); GNU sparse files are not supported: rebuild the layer without --sparse", e),
        _ => new TemplateException(TemplateErrorCodes.LayerInvalid, $"the layer is not a valid tar or gzip stream ({e.Message})", e),
    };
}

/// <summary>
/// A read-only stream that passes the bytes of another through a sha256 and counts them, refusing
/// (layer_too_large) to read past a limit: the uncompressed bytes are counted as they come out of
/// the decompressor, so a decompression bomb stops there.
/// </summary>
internal sealed class DigestingStream(Stream inner, long maxBytes, Func<TemplateException> tooLarge) : Stream
{
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    /// <summary>Reads what is left (tar's end-of-archive blocks, padding after them) so the digest covers every byte, then returns it ("sha256:…").</summary>
    public async Task<string> FinishAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (LayerInput.IsBroken(e))
        {
            throw LayerInput.Broken(e);
        }
        return LayerDigest.FromHex(Convert.ToHexStringLower(_sha256.GetHashAndReset()));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer[..Allowed(buffer.Length)]);
        return Count(buffer[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken).ConfigureAwait(false);
        return Count(buffer.Span[..n]);
    }

    /// <summary>
    /// Asks for one byte more than the limit allows at most, so a stream of exactly the limit is
    /// accepted and one byte over it is caught.
    /// </summary>
    private int Allowed(int wanted) => (int)Math.Min(wanted, maxBytes - BytesRead + 1);

    private int Count(ReadOnlySpan<byte> read)
    {
        BytesRead += read.Length;
        if (BytesRead > maxBytes)
        {
            throw tooLarge();
        }
        _sha256.AppendData(read);
        return read.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _sha256.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        _sha256.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// A few bytes already read from a stream, given back before the rest of it (a request body or pipe
/// cannot seek back). The rest stays the caller's: disposing this leaves it open.
/// </summary>
internal sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_prefix.IsEmpty)
        {
            return rest.Read(buffer);
        }
        var n = Math.Min(buffer.Length, _prefix.Length);
        _prefix.Span[..n].CopyTo(buffer);
        _prefix = _prefix[n..];
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefix.IsEmpty)
        {
            return rest.ReadAsync(buffer, cancellationToken);
        }
        var n = Math.Min(buffer.Length, _prefix.Length);
        _prefix.Span[..n].CopyTo(buffer.Span);
        _prefix = _prefix[n..];
        return ValueTask.FromResult(n);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
