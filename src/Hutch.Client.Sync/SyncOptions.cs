namespace Hutch.Client.Sync;

/// <summary>
/// What a push or pull leaves out. Patterns follow .gitignore: <c>*</c>, <c>?</c>, <c>[a-z]</c> within a name,
/// <c>**</c> across directories, a trailing <c>/</c> for directories only, a leading or inner <c>/</c> to anchor
/// at the top, <c>!</c> to re-include; the last matching pattern wins.
/// </summary>
public sealed record SyncOptions
{
    /// <summary>
    /// Paths never synced and never touched, on either side: <c>*.log</c>, <c>node_modules/</c>,
    /// <c>build/**</c>, <c>/rooted</c>, <c>**/tmp</c>, <c>!keep.log</c>. Empty by default. Hutch's local
    /// folder <c>.hutch/</c> (which holds the sync state) and sync's own temporary files are always excluded.
    /// </summary>
    public IReadOnlyList<string> Excludes { get; init; } = [];

    /// <summary>
    /// Sandbox paths a push keeps though they are absent locally (outputs the sandbox made, a virtualenv).
    /// Only push reads it: a pull still brings such paths back, since they are changes made in the sandbox
    /// (exclude them to keep them out of pulls too). A preserved path that exists locally is pushed as usual.
    /// Empty by default.
    /// </summary>
    public IReadOnlyList<string> Preserve { get; init; } = [];
}
