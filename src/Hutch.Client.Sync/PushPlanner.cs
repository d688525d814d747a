namespace Hutch.Client.Sync;

/// <summary>What a push sends and removes, decided before anything is touched.</summary>
/// <param name="Uploads">Local entries the sandbox lacks or holds differently, in tree order.</param>
/// <param name="Replaced">Sandbox paths of another type than the local entry (a directory where local has a file): deleted before the upload.</param>
/// <param name="Deletes">Sandbox paths absent locally to delete (a directory with all it holds), in tree order.</param>
/// <param name="Preserved">Sandbox paths absent locally that a preserve pattern keeps (the topmost of each kept subtree).</param>
internal sealed record PushPlan(
    IReadOnlyList<SyncEntry> Uploads,
    IReadOnlyList<string> Replaced,
    IReadOnlyList<string> Deletes,
    IReadOnlyList<string> Preserved);

/// <summary>
/// Push as a pure function: make the sandbox tree equal to the local one, except that excluded paths are
/// left alone on both sides and preserved sandbox paths are kept though absent locally.
/// </summary>
/// <remarks>
/// A sandbox directory absent locally is deleted whole unless something inside it is excluded or
/// preserved; then only its other content goes. Where the local entry has another type than the sandbox's
/// (a file where the sandbox has a directory), the local one wins and the sandbox's goes first, with all
/// it holds, even excluded or preserved paths inside: a push makes the sandbox look like local.
/// </remarks>
internal static class PushPlanner
{
    public static PushPlan Plan(IReadOnlyList<SyncEntry> local, IReadOnlyList<SyncEntry> sandbox, PathMatcher excludes, PathMatcher preserve)
    {
        var all = sandbox.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var localPaths = local.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);

        var uploads = new List<SyncEntry>();
        var replaced = new List<string>();
        foreach (var entry in local)
        {
            if (!all.TryGetValue(entry.Path, out var there))
            {
                uploads.Add(entry);
            }
            else if (!SyncEntry.SameState(entry, there))
            {
                uploads.Add(entry);
                if (there.Type != entry.Type)
                {
                    replaced.Add(entry.Path);
                }
            }
        }

        // Directories holding something push must not remove; an excluded path is never removed, and
        // neither is a preserved one.
        var holdsKept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in sandbox)
        {
            var isDirectory = entry.Type == SyncEntryType.Directory;
            if (excludes.IsMatch(entry.Path, isDirectory) || preserve.IsMatch(entry.Path, isDirectory))
            {
                holdsKept.UnionWith(SyncPath.Ancestors(entry.Path));
            }
        }

        var removed = new HashSet<string>(replaced, StringComparer.Ordinal);
        var deletes = new List<string>();
        var preserved = new List<string>();
        foreach (var entry in sandbox.OrderBy(e => e.Path, SyncPath.Comparer))
        {
            var isDirectory = entry.Type == SyncEntryType.Directory;
            if (localPaths.Contains(entry.Path)
                || excludes.IsMatch(entry.Path, isDirectory)
                || SyncPath.Ancestors(entry.Path).Any(removed.Contains))
            {
                continue;
            }
            if (preserve.IsMatch(entry.Path, isDirectory))
            {
                if (!SyncPath.Ancestors(entry.Path).Any(a => preserve.IsMatch(a, isDirectory: true) && !localPaths.Contains(a)))
                {
                    preserved.Add(entry.Path);
                }
                continue;
            }
            if (isDirectory && holdsKept.Contains(entry.Path))
            {
                continue; // its content is judged entry by entry
            }
            deletes.Add(entry.Path);
            removed.Add(entry.Path);
        }
        return new PushPlan(uploads, replaced, deletes, preserved);
    }
}
