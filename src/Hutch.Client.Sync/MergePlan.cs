namespace Hutch.Client.Sync;

/// <summary>What the three-way merge decided for one path.</summary>
internal enum MergeDecision
{
    /// <summary>Neither side changed it since the baseline.</summary>
    Unchanged,

    /// <summary>Only the local side changed it (or created or deleted it): left as it is.</summary>
    KeepLocal,

    /// <summary>Only the sandbox changed it: its version is written locally, or the local path deleted.</summary>
    TakeSandbox,

    /// <summary>Both changed it to the same state: nothing to do.</summary>
    BothSame,

    /// <summary>Both changed it differently: reported; local untouched; the sandbox version, if any, copied beside it.</summary>
    Conflict,

    /// <summary>Inside a conflicted path whose sandbox version is a directory copied whole: its sandbox version goes into that copy.</summary>
    UnderConflict,
}

/// <summary>One path of the merge: its three states and the decision.</summary>
internal sealed record MergeItem(string Path, MergeDecision Decision, SyncEntry? Baseline, SyncEntry? Local, SyncEntry? Sandbox);

/// <summary>Write a sandbox entry at a local path.</summary>
/// <param name="Destination">The local path: the entry's own, or inside a conflict copy.</param>
/// <param name="Sandbox">What to write; its <see cref="SyncEntry.Path"/> is where to fetch a file's content.</param>
/// <param name="Replaces">
/// The local entry of the same type that is there now and must still be exactly that when it is
/// replaced (when only the mode differs, the write is a chmod); null when the destination must be free.
/// </param>
internal sealed record LocalWrite(string Destination, SyncEntry Sandbox, SyncEntry? Replaces);

/// <summary>
/// Everything a pull does to the local directory, decided before anything is touched.
/// </summary>
/// <param name="Items">Every path of baseline, local and sandbox, in tree order, with its decision.</param>
/// <param name="Deletes">Local entries to delete, deepest first; each must still be exactly the entry given.</param>
/// <param name="Writes">Sandbox entries to write, parents first.</param>
/// <param name="Conflicts">The conflicts to report.</param>
/// <param name="ConflictRecords">The same, with the sandbox state that resolving each one will make the baseline.</param>
/// <param name="Baseline">The next baseline: the sandbox's state for every settled path, the old baseline for conflicted ones.</param>
internal sealed record MergePlan(
    IReadOnlyList<MergeItem> Items,
    IReadOnlyList<SyncEntry> Deletes,
    IReadOnlyList<LocalWrite> Writes,
    IReadOnlyList<SyncConflict> Conflicts,
    IReadOnlyList<SyncStateConflict> ConflictRecords,
    IReadOnlyList<SyncEntry> Baseline);
