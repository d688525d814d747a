namespace Hutch.Client.Sync;

/// <summary>What a push did. Paths are relative to the synced directory, in tree order.</summary>
/// <param name="Uploaded">Files, directories and symlinks sent because they were new or differed in the sandbox.</param>
/// <param name="Deleted">Sandbox entries removed because they are gone locally (a directory stands for all it held).</param>
/// <param name="Preserved">Sandbox entries absent locally but kept because a <see cref="SyncOptions.Preserve"/> pattern matched.</param>
/// <param name="OverwrittenSandboxChanges">
/// Of the uploaded and deleted paths, those the sandbox had changed since the last sync: a push makes the
/// sandbox equal to the local directory, so those changes are gone there. Empty when there was no earlier sync.
/// Pull first to merge them.
/// </param>
/// <param name="BytesUploaded">Bytes of file content sent.</param>
public sealed record PushReport(
    IReadOnlyList<string> Uploaded,
    IReadOnlyList<string> Deleted,
    IReadOnlyList<string> Preserved,
    IReadOnlyList<string> OverwrittenSandboxChanges,
    long BytesUploaded);

/// <summary>What a pull did. Paths are relative to the synced directory, in tree order.</summary>
/// <param name="Taken">Paths written from the sandbox (changed only there): content, mode, symlink or new directory.</param>
/// <param name="Kept">Paths changed only locally (edited, added or deleted), left as they are.</param>
/// <param name="DeletedLocally">Paths deleted locally because the sandbox deleted them and they were unchanged here.</param>
/// <param name="Conflicts">Paths changed on both sides differently: the local version is untouched, see <see cref="SyncConflict"/>.</param>
/// <param name="BytesDownloaded">Bytes of file content received (taken files and sandbox copies).</param>
public sealed record PullReport(
    IReadOnlyList<string> Taken,
    IReadOnlyList<string> Kept,
    IReadOnlyList<string> DeletedLocally,
    IReadOnlyList<SyncConflict> Conflicts,
    long BytesDownloaded)
{
    /// <summary>True when at least one path needs a decision by hand.</summary>
    public bool HasConflicts => Conflicts.Count > 0;
}

/// <summary>A path both sides changed differently. The local version is never touched.</summary>
/// <param name="Path">The conflicted path.</param>
/// <param name="Kind">How each side changed it.</param>
/// <param name="SandboxCopy">
/// Where the sandbox's version was written beside it (<c>name.sandbox</c>, else <c>name.sandbox.1</c>, …;
/// a directory with everything under it), or null when there is nothing to write: the sandbox deleted
/// the path, or both sides only changed a directory's mode. Resolve a conflict by editing the local
/// version and deleting the copy; the next pull then counts the copied version as seen, and push is
/// refused while a copy remains.
/// </param>
public sealed record SyncConflict(string Path, SyncConflictKind Kind, string? SandboxCopy);

/// <summary>How the two sides of a <see cref="SyncConflict"/> changed the path since the last sync.</summary>
public enum SyncConflictKind
{
    /// <summary>Both changed it (content, mode or type), or both created it, differently; or the sandbox changed a directory in which something local changed.</summary>
    BothChanged,

    /// <summary>Deleted locally, changed in the sandbox: the sandbox version is restored only as the copy, so the deletion stands.</summary>
    DeletedLocallyChangedInSandbox,

    /// <summary>Changed locally, deleted in the sandbox: the local version stays (the next push restores it in the sandbox); no copy.</summary>
    ChangedLocallyDeletedInSandbox,
}
