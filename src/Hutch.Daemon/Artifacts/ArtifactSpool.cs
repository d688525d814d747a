using Hutch.Artifacts;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Artifacts;

/// <summary>
/// Where a file waits while the store cannot take it: a content-addressed directory of the daemon's
/// (<c>&lt;data dir&gt;/artifacts-pending</c>, 0700, a blob-only <see cref="LocalArtifactStore"/>).
/// A pending file's row names its content here by SHA-256, so the file outlives its sandbox and a
/// daemon restart; the retry uploads from here, and content no pending row names is removed.
/// </summary>
public sealed class ArtifactSpool
{
    private readonly LocalArtifactStore _blobs;
    // Spooling a file and saving the row that names it are one step to a cleanup, which holds the
    // same lock: content spooled but not yet named is never taken for unneeded.
    private readonly SemaphoreSlim _lock = new(1, 1);

    public ArtifactSpool(string root, byte[] key, long maxBytes) => _blobs = new LocalArtifactStore(root, key) { MaxBytes = maxBytes };

    /// <summary>
    /// Spools <paramref name="file"/> and hands its content (null when it could not be spooled: it
    /// changed while read, or the disk is full) to <paramref name="save"/>, under the cleanup's lock.
    /// </summary>
    public async Task<T> KeepAsync<T>(SafeFileHandle file, Func<BlobRef?, string?, T> save, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            BlobRef? spooled = null;
            string? why = null;
            try
            {
                spooled = await _blobs.PutAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ArtifactException or IOException)   // a LinuxException (ENOSPC…) is an IOException
            {
                why = e.Message;
            }
            return save(spooled, why);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Spooled content opened for reading; null when the spool has none of that name.</summary>
    public SafeFileHandle? Open(string sha256)
    {
        try
        {
            return _blobs.OpenBlob(sha256);
        }
        catch (ArtifactException e) when (e.Code == ErrorCodes.ArtifactNotFound)
        {
            return null;
        }
    }

    /// <summary>Removes the content <paramref name="needed"/> (read under the lock) does not name; answers how many blobs went.</summary>
    public async Task<int> RemoveUnneededAsync(Func<HashSet<string>> needed, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var keep = needed();
            var removed = 0;
            foreach (var sha256 in _blobs.Blobs().Where(b => !keep.Contains(b)))
            {
                _blobs.DeleteBlob(sha256);
                removed++;
            }
            return removed;
        }
        finally
        {
            _lock.Release();
        }
    }
}
