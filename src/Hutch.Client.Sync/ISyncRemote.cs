namespace Hutch.Client.Sync;

/// <summary>
/// The sandbox side of <see cref="SyncClient"/>: a directory of the workspace, seen as entries and tar
/// streams. Kept this small so sync logic does not depend on the HTTP API; an implementation over the
/// daemon's file endpoints maps each member to one request.
/// </summary>
/// <remarks>
/// Paths are relative, '/'-separated, without "." or ".." segments. <c>root</c> is workspace-relative
/// ("" for the whole workspace, or e.g. "app"); every other path is relative to <c>root</c>. Nothing
/// may follow a symlink: a symlink is an entry of its own, listed, exported and replaced as a link.
/// </remarks>
public interface ISyncRemote
{
    /// <summary>
    /// Every entry under <paramref name="root"/>, recursively, hidden files included, never following a
    /// symlink; <see cref="SyncEntry.Sha256"/> set for regular files. <paramref name="root"/> itself is not
    /// listed. A missing <paramref name="root"/> is an empty list (a first push creates it).
    /// </summary>
    Task<IReadOnlyList<SyncEntry>> ListAsync(string root, CancellationToken cancellationToken);

    /// <summary>
    /// Unpacks a tar stream into <paramref name="root"/> (created with missing parents): regular files
    /// with their mode, directories (created, or given the entry's mode when they exist), symlinks.
    /// A file or symlink that exists is replaced, never written through; each file appears whole or not
    /// at all. Entries come parents first, but a parent may be absent from the stream when it exists.
    /// </summary>
    /// <remarks>
    /// The stream is produced while it is read (it is not seekable and has no length), in GNU format:
    /// .NET's TarReader rejects pax records whose value holds a newline, and file names may.
    /// </remarks>
    Task ImportTarAsync(string root, Stream tar, CancellationToken cancellationToken);

    /// <summary>
    /// A tar stream of <paramref name="paths"/> (relative to <paramref name="root"/>), in any order, entry
    /// names equal to the paths (a leading "./" is tolerated); symlinks stored as links. Names holding a
    /// newline must be written as GNU long names, not pax records (see <see cref="ImportTarAsync"/>).
    /// </summary>
    Task<Stream> ExportTarAsync(string root, IReadOnlyList<string> paths, CancellationToken cancellationToken);

    /// <summary>Deletes a file, a symlink (not its target) or, recursively, a directory; a missing path is fine.</summary>
    Task DeleteAsync(string root, string path, CancellationToken cancellationToken);
}
