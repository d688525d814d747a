using System.IO.Compression;

namespace Hutch.Files.Archives;

/// <summary>The tar stream inside an import body, and what counts as a broken one.</summary>
internal static class ArchiveInput
{
    /// <summary>
    /// The body as a tar stream: gunzipped when it starts with the gzip magic 1f 8b (RFC 1952 §2.3.1),
    /// else as it is. The two bytes are read and given back (<see cref="PrefixedStream"/>), because an
    /// HTTP request body cannot seek.
    /// </summary>
    public static async Task<Stream> OpenAsync(Stream body, CancellationToken cancellationToken)
    {
        var magic = new byte[2];
        var n = await body.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            throw ArchiveErrors.Invalid("the body is empty");
        }
        var replayed = new PrefixedStream(magic.AsMemory(0, n), body);
        return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b
            ? new GZipStream(replayed, CompressionMode.Decompress, leaveOpen: true)
            : replayed;
    }

    /// <summary>
    /// What TarReader and GZipStream throw for a damaged, truncated or non-tar input: bad checksums and
    /// gzip data (InvalidDataException), an early end (EndOfStreamException), a metadata header that
    /// claims too many bytes (InvalidOperationException), GNU sparse entries (NotSupportedException),
    /// unparseable numbers (FormatException, OverflowException, ArgumentException).
    /// </summary>
    public static bool IsBroken(Exception e) => e is InvalidDataException or EndOfStreamException or InvalidOperationException
        or NotSupportedException or FormatException or OverflowException or ArgumentException;

    public static WorkspaceException Broken(Exception e) => e switch
    {
        EndOfStreamException => ArchiveErrors.Invalid("it ends in the middle of a member (truncated upload?)", e),
        _ => ArchiveErrors.Invalid($"it is not a valid tar or gzip stream ({e.Message})", e),
    };
}
