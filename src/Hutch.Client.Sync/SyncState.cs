namespace Hutch.Client.Sync;

/// <summary>
/// What the last push or pull left behind for one sandbox: the baseline of the next three-way merge,
/// and the conflicts still waiting for a decision. Stored as <c>.hutch/sync/&lt;sandbox&gt;.json</c>.
/// </summary>
/// <param name="Version">The format; a file of another version is refused rather than misread.</param>
/// <param name="Root">The sandbox directory the baseline belongs to. A sync of another root starts with no baseline.</param>
/// <param name="Entries">
/// The baseline: per path, the state both sides last agreed on, which is the sandbox's state as the last
/// push left it or the last pull saw it (for a conflicted path, the state before the conflict).
/// </param>
/// <param name="Conflicts">Conflicts of the last pull, kept until resolved.</param>
internal sealed record SyncState(int Version, string Root, IReadOnlyList<SyncEntry> Entries, IReadOnlyList<SyncStateConflict> Conflicts)
{
    public const int CurrentVersion = 1;

    public static SyncState Empty(string root) => new(CurrentVersion, root, [], []);

    /// <summary>
    /// Counts each conflict whose sandbox copy is gone as resolved: the user merged it by hand, so the
    /// sandbox version they saw becomes the baseline of its path (of its whole subtree, when the copy was
    /// a directory). The next merge then keeps their local result instead of raising the conflict again.
    /// </summary>
    public SyncState WithResolvedConflicts(Func<string, bool> copyExists)
    {
        var resolved = Conflicts.Where(c => c.SandboxCopy is { } copy && !copyExists(copy)).ToList();
        if (resolved.Count == 0)
        {
            return this;
        }
        var baseline = Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        foreach (var conflict in resolved)
        {
            var subtree = conflict.Sandbox.Any(e => e.Path == conflict.Path && e.Type == SyncEntryType.Directory);
            foreach (var path in baseline.Keys.Where(p => p == conflict.Path || (subtree && SyncPath.IsUnder(p, conflict.Path))).ToList())
            {
                baseline.Remove(path);
            }
            foreach (var entry in conflict.Sandbox)
            {
                baseline[entry.Path] = entry;
            }
        }
        return this with
        {
            Entries = baseline.Values.OrderBy(e => e.Path, SyncPath.Comparer).ToList(),
            Conflicts = Conflicts.Except(resolved).ToList(),
        };
    }
}

/// <summary>An unresolved conflict as stored.</summary>
/// <param name="Path">The conflicted path.</param>
/// <param name="Kind">How each side changed it.</param>
/// <param name="SandboxCopy">Where the sandbox version went locally; null when nothing was written.</param>
/// <param name="Sandbox">The sandbox's entries at the time: the path itself, and everything under it when the copy is a directory.</param>
internal sealed record SyncStateConflict(string Path, SyncConflictKind Kind, string? SandboxCopy, IReadOnlyList<SyncEntry> Sandbox);
