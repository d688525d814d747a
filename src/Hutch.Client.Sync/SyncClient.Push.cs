using Hutch.Client.Local;

namespace Hutch.Client.Sync;

public sealed partial class SyncClient
{
    /// <summary>
    /// Makes the sandbox directory <paramref name="remoteRoot"/> equal to <paramref name="localDirectory"/>:
    /// sends what is new or different (one tar), deletes sandbox entries absent locally unless preserved,
    /// leaves excluded paths alone on both sides, and records the result as the baseline of the next pull.
    /// </summary>
    /// <remarks>
    /// Push overwrites: a change made in the sandbox since the last sync is replaced (listed in
    /// <see cref="PushReport.OverwrittenSandboxChanges"/>); pull first to merge it. Push reads the local
    /// directory and never changes it, apart from the state file. It is refused while the sandbox copies
    /// of the last pull's conflicts (<c>*.sandbox</c>) are still there, so that they are not sent by mistake:
    /// merge each by hand and delete the copy. A conflict that has no copy (the sandbox deleted a file you
    /// changed) needs nothing: push sends your version.
    /// </remarks>
    /// <param name="localDirectory">The directory to send; it must exist.</param>
    /// <param name="remoteRoot">The workspace directory to update, e.g. "app", or "" for the whole workspace; created when missing.</param>
    /// <param name="options">Excludes and preserves; null for none.</param>
    /// <param name="cancellationToken">Stops the push; what was sent stays sent, and the baseline is not updated.</param>
    /// <exception cref="SyncException">Unresolved conflicts, a local file changing while it was sent, or a listing the sandbox got wrong.</exception>
    public async Task<PushReport> PushAsync(string localDirectory, string remoteRoot, SyncOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SyncOptions();
        var local = LocalRoot(localDirectory, create: false);
        var root = SyncPath.NormalizeRoot(remoteRoot);
        var excludes = Excludes(options);

        SyncStateStore.EnsureFolder(local);
        var state = await SyncStateStore.LoadAsync(local, SandboxId, root, cancellationToken).ConfigureAwait(false);
        var unresolved = state.Conflicts
            .Select(c => c.SandboxCopy)
            .OfType<string>()
            .Where(copy => LocalFs.Lstat(LocalEntries.Full(local, copy)) != LocalKind.None)
            .ToList();
        if (unresolved.Count > 0)
        {
            throw new SyncException(SyncErrorCodes.UnresolvedConflicts,
                $"Push refused: the last pull left conflicts unresolved. Merge each by hand, then delete the sandbox copy: {string.Join(", ", unresolved.Select(SyncPath.Escape))}.");
        }

        var scan = await LocalScanner.ScanAsync(local, excludes, cancellationToken).ConfigureAwait(false);
        var sandbox = await ListSandboxAsync(root, cancellationToken).ConfigureAwait(false);
        var plan = PushPlanner.Plan(scan.Entries, sandbox, excludes, new PathMatcher(options.Preserve));

        foreach (var path in plan.Replaced)
        {
            await _remote.DeleteAsync(root, path, cancellationToken).ConfigureAwait(false);
        }
        var bytes = plan.Uploads.Count == 0 ? 0
            : await TarUpload.SendAsync(_remote, root, local, plan.Uploads, cancellationToken).ConfigureAwait(false);
        foreach (var path in plan.Deletes)
        {
            await _remote.DeleteAsync(root, path, cancellationToken).ConfigureAwait(false);
        }

        // The sandbox now holds exactly the local entries (plus preserved and excluded ones, which the
        // baseline leaves out: a later pull brings preserved ones back as sandbox additions).
        await SyncStateStore.SaveAsync(local, SandboxId, new SyncState(SyncState.CurrentVersion, root, scan.Entries, []), cancellationToken).ConfigureAwait(false);

        return new PushReport(
            plan.Uploads.Select(e => e.Path).ToList(),
            plan.Deletes,
            plan.Preserved,
            Overwritten(state, sandbox, plan),
            bytes);
    }

    /// <summary>
    /// Paths where push undid a change made in the sandbox since the baseline: an entry it replaced or
    /// removed that differed from the baseline, or one the sandbox had deleted that it sent again.
    /// </summary>
    private static List<string> Overwritten(SyncState state, List<SyncEntry> sandbox, PushPlan plan)
    {
        var baseline = state.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var there = sandbox.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var removed = plan.Deletes.Concat(plan.Replaced).ToList();
        return plan.Uploads.Select(e => e.Path)
            .Concat(sandbox.Select(e => e.Path).Where(p => removed.Any(r => p == r || SyncPath.IsUnder(p, r))))
            .Distinct(StringComparer.Ordinal)
            .Where(p => !SyncEntry.SameState(there.GetValueOrDefault(p), baseline.GetValueOrDefault(p)))
            .Order(SyncPath.Comparer)
            .ToList();
    }
}
