using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

/// <summary>Reading a file to store it: its SHA-256, and a copy of it, each in one pass.</summary>
internal static class BlobContent
{
    private const int BufferSize = 1 << 20;

    /// <summary>The SHA-256 (lowercase hex) and size of a file's content, read with pread from offset 0 (no file position is used).</summary>
    public static async Task<(string Sha256, long Size)> HashAsync(SafeFileHandle source, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        long size = 0;
        try
        {
            int n;
            while ((n = await RandomAccess.ReadAsync(source, buffer.AsMemory(0, BufferSize), size, cancellationToken).ConfigureAwait(false)) > 0)
            {
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
    /// Copies <paramref name="source"/> into the empty <paramref name="target"/> in the kernel (a reflink
    /// on one file system that has them, else copy_file_range), or by reading and writing when the kernel
    /// will not copy between these two file systems. Returns the bytes copied.
    /// </summary>
    public static long Copy(SafeFileHandle source, SafeFileHandle target)
    {
        try
        {
            At.CloneOrCopy(source, target);
            return RandomAccess.GetLength(target);
        }
        catch (LinuxException e) when (e.Errno is Errno.EXDEV or Errno.EINVAL or Errno.ENOSYS or Errno.EOPNOTSUPP)
        {
            // Refused before anything was written (copy_file_range checks first); start over from 0.
            RandomAccess.SetLength(target, 0);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                long offset = 0;
                int n;
                while ((n = RandomAccess.Read(source, buffer.AsSpan(0, BufferSize), offset)) > 0)
                {
                    RandomAccess.Write(target, buffer.AsSpan(0, n), offset);
                    offset += n;
                }
                return offset;
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
