using Hutch.Daemon.Http;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Hutch.Files;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Files;

/// <summary>
/// Writes a request body into a file straight from the server's receive buffers (pwritev of the
/// buffered segments), instead of copying each block into a buffer of our own first: one memcpy of
/// the whole file fewer, which on a 1 GiB upload is a tenth of the time here.
/// </summary>
internal static class Upload
{
    /// <summary>Writes once this much is buffered (or the body ended): large writes, few syscalls.</summary>
    private const long MinimumWrite = 256 << 10;

    public static async Task<(long Size, string? Sha256)> WriteBodyAsync(PipeReader body, SafeFileHandle file, WriteOptions options, string shown,
        CancellationToken cancellationToken)
    {
        using var hash = options.Hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        long size = 0;
        var segments = new List<ReadOnlyMemory<byte>>();
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (buffer.Length < MinimumWrite && !read.IsCompleted)
            {
                body.AdvanceTo(buffer.Start, buffer.End);   // wait for more before writing
                continue;
            }
            var length = buffer.Length;
            try
            {
                if (size + length > options.MaxBytes)
                {
                    throw Workspace.TooLarge(shown, options.MaxBytes);
                }
                segments.Clear();
                foreach (var segment in buffer)
                {
                    segments.Add(segment);
                    hash?.AppendData(segment.Span);
                }
                RandomAccess.Write(file, segments, size);
            }
            finally
            {
                // Also on a failure: the caller may read on (to discard the rest), which needs every read advanced.
                body.AdvanceTo(buffer.End);
            }
            size += length;
            if (read.IsCompleted)
            {
                break;
            }
        }
        return (size, hash is null ? null : Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
