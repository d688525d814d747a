using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;
using static Hutch.Linux.Interop.Errno;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Copies one open file into another, as cheaply as the file systems allow: a reflink (FICLONE,
/// shares blocks until either side is written), else copy_file_range in the kernel, else plain reads
/// and writes. The last step exists because copy_file_range refuses files on two different kinds of
/// file system (EXDEV since Linux 5.19), e.g. a caller's host workspace on ext4 and the store on XFS.
/// </summary>
internal static class FileClone
{
    private const int BufferSize = 1 << 20;

    /// <summary>Makes the empty <paramref name="target"/> a copy of <paramref name="source"/>; true when it was a reflink.</summary>
    public static bool Copy(SafeFileHandle source, SafeFileHandle target)
    {
        try
        {
            return At.CloneOrCopy(source, target);
        }
        catch (LinuxException e) when (e.Errno is EXDEV or EINVAL or ENOSYS or EOPNOTSUPP)
        {
            CopyByReading(source, target);
            return false;
        }
    }

    private static void CopyByReading(SafeFileHandle source, SafeFileHandle target)
    {
        // copy_file_range refuses before it writes anything, and without offsets it moved no file
        // position either, so start again from zero.
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
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>True when both files have the same bytes (the caller has already compared sizes).</summary>
    public static bool SameContent(SafeFileHandle a, SafeFileHandle b)
    {
        var left = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        var right = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long offset = 0;
            while (true)
            {
                var n = ReadFull(a, left.AsSpan(0, BufferSize), offset);
                var m = ReadFull(b, right.AsSpan(0, BufferSize), offset);
                if (n != m || !left.AsSpan(0, n).SequenceEqual(right.AsSpan(0, m)))
                {
                    return false;
                }
                if (n == 0)
                {
                    return true;
                }
                offset += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(left);
            System.Buffers.ArrayPool<byte>.Shared.Return(right);
        }
    }

    /// <summary>Reads until the span is full or the file ends (a single read may return less).</summary>
    private static int ReadFull(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = RandomAccess.Read(file, buffer[total..], offset + total);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}
