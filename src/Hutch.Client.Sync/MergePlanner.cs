namespace Hutch.Client.Sync;

/// <summary>
/// The three-way merge of a pull, as a pure function of the baseline, the local tree and the sandbox
/// tree: it decides, <see cref="SyncClient"/> executes. Each path is judged on its own, then the tree
/// rules make the decisions fit together so that nothing local is ever lost silently.
/// </summary>
/// <remarks>
/// Per path, against the baseline B: only the sandbox changed → take its version (write it, or delete
/// the local path); only local changed → keep; both to the same state → nothing; both differently →
/// conflict. "Changed" covers content, permission bits, symlink target, type, creation and deletion.
/// Then, across the tree:
/// <list type="number">
/// <item>A local directory the sandbox removed or replaced is removed only when nothing below it stays
/// (a local edit, a conflict, an excluded file); otherwise the directory is a conflict.</item>
/// <item>Sandbox content is written only under directories that are directories locally after the merge.
/// When a local file, symlink or deletion stands where the sandbox still has a directory in which something
/// changed, that path becomes a conflict and the sandbox's directory is copied whole beside it.</item>
/// <item>A conflict's sandbox version goes to <c>name.sandbox</c> (else <c>name.sandbox.1</c>, …, a free name);
/// an earlier copy holding exactly that version is reused instead of adding another.</item>
/// </list>
/// </remarks>
internal static class MergePlanner
{
    /// <summary>Appended to a conflicted path to name the local copy of the sandbox's version.</summary>
    public const string CopySuffix = ".sandbox";

    /// <param name="baseline">What both sides last agreed on (empty before the first sync).</param>
    /// <param name="local">The local tree, excluded paths left out.</param>
    /// <param name="sandbox">The sandbox tree, excluded paths left out; every parent listed as a directory.</param>
    /// <param name="localExcluded">Local paths that exist but are excluded: they survive everything and their names are taken.</param>
    public static MergePlan Plan(IEnumerable<SyncEntry> baseline, IEnumerable<SyncEntry> local, IEnumerable<SyncEntry> sandbox, IEnumerable<string>? localExcluded = null)
    {
        var b = Index(baseline, nameof(baseline));
        var l = Index(local, nameof(local));
        var r = Index(sandbox, nameof(sandbox));
        var excluded = localExcluded?.ToList() ?? [];

        var nodes = b.Keys.Union(l.Keys).Union(r.Keys)
            .Order(SyncPath.Comparer)
            .Select(p => new Node(p, b.GetValueOrDefault(p), l.GetValueOrDefault(p), r.GetValueOrDefault(p)))
            .ToArray();
        foreach (var node in nodes)
        {
            node.Decide();
        }
        KeepDirectoriesThatHoldSurvivors(nodes, excluded);
        EscalateBlockedWrites(nodes);
        MarkContentOfCopiedDirectories(nodes);
        NameCopies(nodes, l, r, excluded);
        return Build(nodes);
    }

    /// <summary>Tree rule 1, deepest first so that a kept child keeps its parent, which keeps its own parent.</summary>
    private static void KeepDirectoriesThatHoldSurvivors(Node[] nodes, List<string> excluded)
    {
        for (var i = nodes.Length - 1; i >= 0; i--)
        {
            var node = nodes[i];
            if (node.Decision == MergeDecision.TakeSandbox
                && node.L?.Type == SyncEntryType.Directory
                && node.R?.Type != SyncEntryType.Directory
                && (Subtree(nodes, i).Any(d => d.FinalLocal is not null) || excluded.Any(p => SyncPath.IsUnder(p, node.Path))))
            {
                node.MakeConflict();
            }
        }
    }

    /// <summary>Tree rule 2: a write whose parent will not be a local directory makes the topmost such ancestor a conflict.</summary>
    private static void EscalateBlockedWrites(Node[] nodes)
    {
        var byPath = nodes.ToDictionary(n => n.Path, StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (!(node.Decision == MergeDecision.TakeSandbox && node.R is not null) && !node.NeedsCopy)
            {
                continue;
            }
            foreach (var ancestor in SyncPath.Ancestors(node.Path))
            {
                var above = byPath.TryGetValue(ancestor, out var a) ? a
                    : throw new ArgumentException($"The sandbox listing has \"{SyncPath.Escape(node.Path)}\" but not its directory \"{SyncPath.Escape(ancestor)}\".", nameof(nodes));
                if (above.FinalLocal?.Type != SyncEntryType.Directory)
                {
                    above.MakeConflict();
                    break;
                }
            }
        }
    }

    /// <summary>Everything under a conflict whose sandbox directory is copied whole belongs to that copy.</summary>
    private static void MarkContentOfCopiedDirectories(Node[] nodes)
    {
        Node? owner = null;
        foreach (var node in nodes)
        {
            if (owner is not null && SyncPath.IsUnder(node.Path, owner.Path))
            {
                node.Decision = MergeDecision.UnderConflict;
                node.Owner = owner;
                continue;
            }
            owner = node.CopiesSubtree ? node : null;
        }
    }

    /// <summary>Tree rule 3: picks each copy's name, reusing an earlier copy that holds the same version.</summary>
    private static void NameCopies(Node[] nodes, Dictionary<string, SyncEntry> l, Dictionary<string, SyncEntry> r, List<string> excluded)
    {
        var taken = new HashSet<string>(l.Keys.Concat(r.Keys).Concat(excluded), StringComparer.Ordinal);
        foreach (var node in nodes.Where(n => n.NeedsCopy))
        {
            var content = SandboxContent(nodes, node);
            for (var i = 0; ; i++)
            {
                var candidate = node.Path + CopySuffix + (i == 0 ? "" : "." + i);
                if (taken.Add(candidate))
                {
                    node.Copy = candidate;
                    break;
                }
                if (!r.ContainsKey(candidate) && HoldsCopy(l, content, node.Path, candidate))
                {
                    node.Copy = candidate;
                    node.CopyReused = true;
                    break;
                }
            }
        }
    }

    /// <summary>True when the local tree at <paramref name="copy"/> is exactly <paramref name="content"/> moved there.</summary>
    private static bool HoldsCopy(Dictionary<string, SyncEntry> l, List<SyncEntry> content, string path, string copy)
    {
        var there = l.Values.Count(e => e.Path == copy || SyncPath.IsUnder(e.Path, copy));
        return there == content.Count
            && content.All(e => l.TryGetValue(SyncPath.Rebase(e.Path, path, copy), out var local) && SyncEntry.SameState(local, e));
    }

    /// <summary>The sandbox's version of a conflicted path: its entry, and everything under it when copied whole.</summary>
    private static List<SyncEntry> SandboxContent(Node[] nodes, Node conflict)
    {
        var content = new List<SyncEntry>();
        if (conflict.R is { } own)
        {
            content.Add(own);
        }
        if (conflict.CopiesSubtree)
        {
            content.AddRange(nodes.Where(n => n.Owner == conflict && n.R is not null).Select(n => n.R!));
        }
        return content;
    }

    private static MergePlan Build(Node[] nodes)
    {
        var deletes = nodes
            .Where(n => n.Decision == MergeDecision.TakeSandbox && n.L is not null && n.R?.Type != n.L.Type)
            .Select(n => n.L!)
            .Reverse()
            .ToList();

        var writes = new List<LocalWrite>();
        foreach (var node in nodes)
        {
            switch (node.Decision)
            {
                case MergeDecision.TakeSandbox when node.R is not null:
                    writes.Add(new LocalWrite(node.Path, node.R, node.L?.Type == node.R.Type ? node.L : null));
                    break;
                case MergeDecision.Conflict when node.Copy is not null && !node.CopyReused:
                    writes.Add(new LocalWrite(node.Copy, node.R!, null));
                    break;
                case MergeDecision.UnderConflict when node.R is not null && !node.Owner!.CopyReused:
                    writes.Add(new LocalWrite(SyncPath.Rebase(node.Path, node.Owner.Path, node.Owner.Copy!), node.R, null));
                    break;
            }
        }
        writes.Sort((x, y) => SyncPath.Comparer.Compare(x.Destination, y.Destination));

        var conflicts = nodes.Where(n => n.Decision == MergeDecision.Conflict).ToList();
        return new MergePlan(
            nodes.Select(n => new MergeItem(n.Path, n.Decision, n.B, n.L, n.R)).ToList(),
            deletes,
            writes,
            conflicts.Select(n => new SyncConflict(n.Path, n.Kind, n.Copy)).ToList(),
            conflicts.Select(n => new SyncStateConflict(n.Path, n.Kind, n.Copy, SandboxContent(nodes, n))).ToList(),
            // A settled path's sandbox state is what both sides now hold, or, where local kept its own change,
            // what the sandbox still holds: recording the local state there would make the next pull see a
            // sandbox change and undo the local one. A conflicted path keeps its old baseline, so it stays a
            // conflict until resolved.
            nodes.Select(n => n.Decision is MergeDecision.Conflict or MergeDecision.UnderConflict ? n.B : n.R).OfType<SyncEntry>().ToList());
    }

    private static IEnumerable<Node> Subtree(Node[] nodes, int index)
    {
        for (var i = index + 1; i < nodes.Length && SyncPath.IsUnder(nodes[i].Path, nodes[index].Path); i++)
        {
            yield return nodes[i];
        }
    }

    private static Dictionary<string, SyncEntry> Index(IEnumerable<SyncEntry> entries, string name)
    {
        ArgumentNullException.ThrowIfNull(entries, name);
        var index = new Dictionary<string, SyncEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (!index.TryAdd(entry.Path, entry))
            {
                throw new ArgumentException($"\"{SyncPath.Escape(entry.Path)}\" is listed twice.", name);
            }
        }
        return index;
    }

    private sealed class Node(string path, SyncEntry? b, SyncEntry? l, SyncEntry? r)
    {
        public string Path { get; } = path;
        public SyncEntry? B { get; } = b;
        public SyncEntry? L { get; } = l;
        public SyncEntry? R { get; } = r;
        public MergeDecision Decision { get; set; }
        public SyncConflictKind Kind { get; private set; }

        /// <summary>Where the sandbox version goes, for a conflict that has one to write.</summary>
        public string? Copy { get; set; }

        /// <summary>An earlier copy already holds this version: nothing to write.</summary>
        public bool CopyReused { get; set; }

        /// <summary>For <see cref="MergeDecision.UnderConflict"/>: the conflict whose copy holds this path.</summary>
        public Node? Owner { get; set; }

        /// <summary>What the local path will hold once the plan ran.</summary>
        public SyncEntry? FinalLocal => Decision is MergeDecision.TakeSandbox or MergeDecision.BothSame ? R : L;

        /// <summary>
        /// A conflict needs a copy when the sandbox has a version, except a directory against a local
        /// directory (only modes differ; the entries inside merge on their own).
        /// </summary>
        public bool NeedsCopy => Decision == MergeDecision.Conflict && R is not null
            && !(R.Type == SyncEntryType.Directory && L?.Type == SyncEntryType.Directory);

        /// <summary>A sandbox directory where local has none: copied with all it holds.</summary>
        public bool CopiesSubtree => NeedsCopy && R!.Type == SyncEntryType.Directory;

        public void Decide()
        {
            var localChanged = !SyncEntry.SameState(L, B);
            var sandboxChanged = !SyncEntry.SameState(R, B);
            Decision = !sandboxChanged ? (localChanged ? MergeDecision.KeepLocal : MergeDecision.Unchanged)
                : !localChanged ? MergeDecision.TakeSandbox
                : SyncEntry.SameState(L, R) ? MergeDecision.BothSame
                : MergeDecision.Conflict;
            if (Decision == MergeDecision.Conflict)
            {
                MakeConflict();
            }
        }

        public void MakeConflict()
        {
            Decision = MergeDecision.Conflict;
            Kind = L is null ? SyncConflictKind.DeletedLocallyChangedInSandbox
                : R is null ? SyncConflictKind.ChangedLocallyDeletedInSandbox
                : SyncConflictKind.BothChanged;
        }
    }
}
