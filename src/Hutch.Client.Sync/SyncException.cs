using Hutch.Protocol.Api;

namespace Hutch.Client.Sync;

/// <summary>
/// A push or pull stopped. <see cref="CodedException.Code"/> is stable (one of <see cref="SyncErrorCodes"/>): branch on
/// it, never on the message. Whatever stopped it, no local change was lost: a local file is replaced
/// or deleted only after it was checked to be exactly what the merge planned for. Only this library throws it.
/// </summary>
public sealed class SyncException : CodedException
{
    internal SyncException(string code, string message, Exception? inner = null)
        : base(code, message, inner)
    {
    }

    /// <summary>
    /// True when running the same push or pull again is expected to succeed: something changed on one
    /// side while it ran. A pull that stopped half-way recorded what it finished, so a second run goes on from there.
    /// </summary>
    public override bool IsTransient => Code is SyncErrorCodes.LocalChanged or SyncErrorCodes.SandboxChanged;
}

/// <summary>Codes of <see cref="SyncException"/>.</summary>
public static class SyncErrorCodes
{
    /// <summary>A push was refused: sandbox copies of conflicted files (<c>*.sandbox</c>) are still there. Merge each by hand, delete the copy, push again.</summary>
    public const string UnresolvedConflicts = "sync_unresolved_conflicts";

    /// <summary>A local file changed between the scan and the moment sync would have replaced or deleted it. Run the command again.</summary>
    public const string LocalChanged = "sync_local_changed";

    /// <summary>A file changed in the sandbox while it was read (its content no longer matched the listing). Run the command again.</summary>
    public const string SandboxChanged = "sync_sandbox_changed";

    /// <summary>The sandbox sent a path that is absolute, has ".." or empty segments, or a character the local file system refuses.</summary>
    public const string InvalidPath = "sync_invalid_path";

    /// <summary>A directory on the way to a local path is a symlink (or not a directory): sync never writes through one.</summary>
    public const string UnsafeLocalPath = "sync_unsafe_local_path";

    /// <summary>The state file (<c>.hutch/sync/&lt;sandbox&gt;.json</c>) is unreadable. Delete it to start over: the next pull then reports every difference as a conflict.</summary>
    public const string InvalidState = "sync_invalid_state";
}
