using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

/// <summary>Reading a file to store it: its SHA-256, and a copy of it, each in one pass.</summary>
internal static class BlobContent
{
    private const int BufferSize = 1 << 20;
    private const long ChunkSize = 32 << 20;

    /// <summary>Refuses a file of more than <paramref name="maxBytes"/> bytes (artifact_too_large).</summary>
    public static void CheckSize(long size, long maxBytes)
    {
        if (size > maxBytes)
        {
            throw new ArtifactException(ErrorCodes.ArtifactTooLarge,
                $"The file has more than {maxBytes} bytes, the most an artifact may have (HUTCH_ARTIFACT_MAX_BYTES): it is not kept.");
        }
    }

    /// <summary>The SHA-256 (lowercase hex) and size of a file's content, read with pread from offset 0 (no file position is used).</summary>
    public static async Task<(string Sha256, long Size)> HashAsync(SafeFileHandle source, long maxBytes, CancellationToken cancellationToken) =>
        await Task.Run(() => Hash(source, maxBytes, cancellationToken), cancellationToken).ConfigureAwait(false);

    /// <summary>As <see cref="HashAsync"/>, on the calling thread: plain blocking reads, no hop between threads per buffer.</summary>
    public static (string Sha256, long Size) Hash(SafeFileHandle source, long maxBytes, CancellationToken cancellationToken)
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
                CheckSize(size, maxBytes);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the empty <paramref name="target"/> (<see cref="Copy"/>) and
    /// hashes the target as the copy goes, a chunk behind it: the SHA-256 and size of the bytes the
    /// blob holds. Never the source's: a sandbox can change its file while it is read without moving
    /// its size, mtime or ctime (writes through a shared mapping to pages already dirty), so a hash of
    /// the source and a copy of it can differ, and a blob would be stored under a hash its content does
    /// not have, which any later put of that hash would trust (ArtifactRaceTests). Only the store writes
    /// the target; its pages were just written, so the hash reads them from the page cache.
    /// </summary>
    public static async Task<(string Sha256, long Size)> CopyAndHashAsync(SafeFileHandle source, SafeFileHandle target, long maxBytes, CancellationToken cancellationToken)
    {
        var progress = new CopyProgress();
        // Not cancelled before it starts: the hash waits for its end.
        var copy = Task.Run(() =>
        {
            try
            {
                Copy(source, target, maxBytes, progress.Advance);
            }
            finally
            {
                progress.Finish();
            }
        }, CancellationToken.None);
        var hash = Task.Run(() => HashBehind(target, progress, cancellationToken), cancellationToken);
        try
        {
            await copy.ConfigureAwait(false);
        }
        catch
        {
            // The hash waits for a copy that ended: it stops at what was copied; nothing of it is used.
            await Task.WhenAny(hash).ConfigureAwait(false);
            throw;
        }
        return await hash.ConfigureAwait(false);
    }

    /// <summary>The hash of <paramref name="target"/>, read only up to what the copy has written so far.</summary>
    private static (string Sha256, long Size) HashBehind(SafeFileHandle target, CopyProgress progress, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        long size = 0;
        try
        {
            while (progress.WaitBeyond(size) is var copied && copied > size)
            {
                while (size < copied)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var n = RandomAccess.Read(target, buffer.AsSpan(0, (int)Math.Min(BufferSize, copied - size)), size);
                    if (n == 0)
                    {
                        throw new IOException("The blob being written is shorter than what was copied into it.");
                    }
                    hash.AppendData(buffer, 0, n);
                    size += n;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    /// <summary>How far a copy has written its target; a reader waits for more or for its end.</summary>
    private sealed class CopyProgress
    {
        private readonly object _gate = new();   // Monitor.Wait needs an object, not a Lock
        private long _copied;
        private bool _finished;

        public void Advance(long copied)
        {
            lock (_gate)
            {
                _copied = copied;
                Monitor.PulseAll(_gate);
            }
        }

        public void Finish()
        {
            lock (_gate)
            {
                _finished = true;
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>The bytes copied once more than <paramref name="had"/> are, or the copy ended.</summary>
        public long WaitBeyond(long had)
        {
            lock (_gate)
            {
                while (_copied <= had && !_finished)
                {
                    Monitor.Wait(_gate);
                }
                return _copied;
            }
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the empty <paramref name="target"/> in the kernel: a reflink
    /// on one file system that has them, else sendfile (which works between any two), starting the
    /// writeback of each chunk as it goes so the fsync that follows finds little left. Returns the
    /// bytes copied.
    /// </summary>
    /// <param name="maxBytes">Past this many bytes (a file that grew while copied) the copy stops: artifact_too_large.</param>
    /// <param name="copied">Told the bytes in the target after each chunk.</param>
    public static long Copy(SafeFileHandle source, SafeFileHandle target, long maxBytes = long.MaxValue, Action<long>? copied = null)
    {
        if (At.TryClone(source, target))
        {
            var length = RandomAccess.GetLength(target);
            CheckSize(length, maxBytes);
            copied?.Invoke(length);
            return length;
        }
        long offset = 0;
        while (true)
        {
            var start = offset;
            if (At.SendFile(source, target, ref offset, ChunkSize) == 0)
            {
                return offset;
            }
            CheckSize(offset, maxBytes);
            copied?.Invoke(offset);
            At.StartWriteback(target, start, offset - start);
        }
    }
}
