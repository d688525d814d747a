using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

/// <summary>Reading a file to store it: its SHA-256, and a copy of it, each in one pass.</summary>
internal static class BlobContent
{
    private const int BufferSize = 1 << 20;
    private const long ChunkSize = 32 << 20;

    /// <summary>The SHA-256 (lowercase hex) and size of a file's content, read with pread from offset 0 (no file position is used).</summary>
    public static async Task<(string Sha256, long Size)> HashAsync(SafeFileHandle source, CancellationToken cancellationToken) =>
        await Task.Run(() => Hash(source, cancellationToken), cancellationToken).ConfigureAwait(false);

    /// <summary>As <see cref="HashAsync"/>, on the calling thread: plain blocking reads, no hop between threads per buffer.</summary>
    public static (string Sha256, long Size) Hash(SafeFileHandle source, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        long size = 0;
        try
        {
            int n;
            while ((n = RandomAccess.Read(source, buffer.AsSpan(0, BufferSize), size)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                hash.AppendData(buffer, 0, n);
                size += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the empty <paramref name="target"/> in the kernel: a reflink
    /// on one file system that has them, else sendfile (which works between any two), starting the
    /// writeback of each chunk as it goes so the fsync that follows finds little left. Returns the
    /// bytes copied.
    /// </summary>
    public static long Copy(SafeFileHandle source, SafeFileHandle target)
    {
        if (At.TryClone(source, target))
        {
            return RandomAccess.GetLength(target);
        }
        long offset = 0;
        while (true)
        {
            var start = offset;
            if (At.SendFile(source, target, ref offset, ChunkSize) == 0)
            {
                return offset;
            }
            At.StartWriteback(target, start, offset - start);
        }
    }
}
