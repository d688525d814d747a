using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files;

/// <summary>How a file is written.</summary>
/// <param name="Mode">Permission bits; null keeps a replaced file's mode, else 0644.</param>
/// <param name="MaxBytes">Refuse (file_too_large) beyond this many bytes; nothing is left behind.</param>
/// <param name="Hash">Compute the content's sha256 (costs ~0.6 s per GiB here: off for streamed uploads unless asked).</param>
public sealed record WriteOptions(int? Mode = null, bool CreateParents = true, bool Overwrite = true, long MaxBytes = long.MaxValue, bool Hash = true);

// Writing: always a temp file beside the target, renamed over it, so a reader sees the old file or
// the new one, never a half-written one.
public sealed partial class Workspace
{
    private const int CopyBufferSize = 1 << 20;

    /// <summary>Writes <paramref name="content"/> as the file at <paramref name="path"/>, atomically.</summary>
    public Task<FileWritten> WriteAsync(string path, Stream content, WriteOptions options, CancellationToken cancellationToken = default) =>
        WriteAsync(path, (handle, ct) => CopyAsync(content, handle, options, path, ct), options, cancellationToken);

    /// <summary>
    /// Writes a file atomically whose bytes <paramref name="fill"/> puts into the (empty, private) temp
    /// file it is given, returning the size and, if it hashed them, the sha256: for a caller with a
    /// faster source than a Stream (the daemon writes an HTTP body from its buffers in place). The
    /// fill must enforce <see cref="WriteOptions.MaxBytes"/> (<see cref="TooLarge"/>).
    /// </summary>
    public async Task<FileWritten> WriteAsync(string path, Func<SafeFileHandle, CancellationToken, Task<(long Size, string? Sha256)>> fill,
        WriteOptions options, CancellationToken cancellationToken = default)
    {
        var relative = WorkspacePath.Relative(path);
        var (dir, name) = OpenParentForChange(relative, path, options.CreateParents);
        using (dir)
        {
            var existing = Guard(path, () => At.TryStat(dir, name));
            if (existing is { Kind: EntryKind.Directory })
            {
                throw new WorkspaceException(ErrorCodes.IsADirectory, $"'{Errors.Shorten(path)}' is a directory; a file cannot replace it.");
            }
            if (existing is not null && !options.Overwrite)
            {
                throw new WorkspaceException(ErrorCodes.PathExists, $"'{Errors.Shorten(path)}' already exists. Ask to overwrite, or pick another name.");
            }
            var mode = options.Mode ?? (existing is { Kind: EntryKind.File } e ? e.Permissions : FileMode);
            var temp = CreateTemp(dir, path);
            try
            {
                string? sha256;
                long size;
                using (temp.Handle)
                {
                    try
                    {
                        (size, sha256) = await fill(temp.Handle, cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException failure)
                    {
                        throw Errors.From(failure, path);
                    }
                    Guard(path, () =>
                    {
                        At.Chown(temp.Handle, "", OwnerUid, OwnerGid);
                        At.Chmod(temp.Handle, mode);
                        // Acknowledged only once every byte is on disk: without this, a write-back that
                        // fails later (a volume whose backing disk is full) loses data already reported
                        // written. fsync's error is the only place that failure shows.
                        At.Sync(temp.Handle);
                    });
                }
                Guard(path, () => At.Rename(temp.Dir, temp.Name, dir, name, noReplace: !options.Overwrite));
                return new FileWritten(relative, size, sha256, Modes.Format(mode));
            }
            catch
            {
                TryUnlink(temp.Dir, temp.Name);
                throw;
            }
        }
    }

    /// <summary>
    /// A new, empty, exclusive temp file (never a symlink: O_EXCL|O_NOFOLLOW) for a change in
    /// <paramref name="targetDir"/>: in the staging directory, out of the sandbox's reach, when the
    /// workspace has one; else beside the target, hidden by its name. Rename it into place from
    /// <see cref="TempFile.Dir"/>, or unlink it there.
    /// </summary>
    internal TempFile CreateTemp(SafeFileHandle targetDir, string shown)
    {
        var dir = StagingFor(targetDir);
        for (var attempt = 0; ; attempt++)
        {
            var name = $".hutch-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp";
            try
            {
                var handle = Beneath.Open(dir, name, Beneath.O_RDWR | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, 0x180, noSymlinks: true);
                return new TempFile(dir, name, handle);
            }
            catch (LinuxException e) when (e.Errno == Errno.EEXIST && attempt < 10)
            {
            }
            catch (Exception e) when (e is LinuxException or ContainmentException)
            {
                throw Errors.From(e, shown);
            }
        }
    }

    /// <summary>
    /// Copies the stream into the file in 1 MiB blocks (hashing them when asked). No second buffer is
    /// needed for overlap: the HTTP server keeps receiving into its own buffer (8 MiB) while a block is
    /// written, and on a 2-core host handing blocks to other threads only added contention.
    /// </summary>
    private static async Task<(long Size, string? Sha256)> CopyAsync(Stream content, SafeFileHandle handle, WriteOptions options, string shown, CancellationToken cancellationToken)
    {
        using var hash = options.Hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        long size = 0;
        try
        {
            while (await ReadBlockAsync(content, buffer, cancellationToken).ConfigureAwait(false) is var n and > 0)
            {
                if (size + n > options.MaxBytes)
                {
                    throw TooLarge(shown, options.MaxBytes);
                }
                hash?.AppendData(buffer, 0, n);
                RandomAccess.Write(handle, buffer.AsSpan(0, n), size);
                size += n;
            }
        }
        catch (IOException e)
        {
            throw Errors.From(e, shown);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return (size, hash is null ? null : Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>The refusal of content beyond <see cref="WriteOptions.MaxBytes"/>.</summary>
    public static WorkspaceException TooLarge(string shown, long maxBytes) => new(ErrorCodes.FileTooLarge, $"'{Errors.Shorten(shown)}' is larger than the limit of {maxBytes} bytes; nothing was written.");

    /// <summary>Fills the buffer as far as the stream allows (fewer, larger writes); 0 at the end.</summary>
    private static async Task<int> ReadBlockAsync(Stream content, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < CopyBufferSize)
        {
            var n = await content.ReadAsync(buffer.AsMemory(filled, CopyBufferSize - filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            filled += n;
        }
        return filled;
    }

    internal static void TryUnlink(SafeFileHandle dir, string name)
    {
        try
        {
            At.Unlink(dir, name);
        }
        catch (LinuxException)
        {
            // Already gone (the sandbox may delete files in its own workspace at any time).
        }
    }
}

/// <summary>A temp file being written: its name in <paramref name="Dir"/> (borrowed, not owned) and its open handle.</summary>
internal readonly record struct TempFile(SafeFileHandle Dir, string Name, SafeFileHandle Handle);
