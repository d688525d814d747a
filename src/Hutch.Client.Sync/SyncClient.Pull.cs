using Hutch.Client.Local;

namespace Hutch.Client.Sync;

public sealed partial class SyncClient
{
    /// <summary>
    /// Brings the sandbox's changes into <paramref name="localDirectory"/> by a three-way merge against the
    /// baseline of the last sync: what changed only in the sandbox is taken, what changed only locally is
    /// kept, and what changed on both sides differently is a conflict, with the local version untouched
    /// and the sandbox's written beside it as <c>name.sandbox</c>.
    /// </summary>
    /// <remarks>
    /// Without a baseline (first pull) everything present on both sides that differs is a conflict.
    /// Modes, symlinks (written as links, never followed) and deletions are merged the same way. A
    /// conflict stays until resolved: edit the local version, delete the copy; the next pull counts the
    /// copied version as seen. If the pull stops half-way, what it finished is recorded, and running it
    /// again goes on from there.
    /// </remarks>
    /// <param name="localDirectory">The directory to merge into; created when missing.</param>
    /// <param name="remoteRoot">The workspace directory to read, e.g. "app", or "" for the whole workspace.</param>
    /// <param name="options">Excludes; null for none. <see cref="SyncOptions.Preserve"/> plays no part in a pull.</param>
    /// <param name="cancellationToken">Stops the pull between files; finished work is recorded.</param>
    /// <exception cref="SyncException">A side changed during the pull (run it again), or the sandbox sent a path or tree sync refuses.</exception>
    public async Task<PullReport> PullAsync(string localDirectory, string remoteRoot, SyncOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SyncOptions();
        var local = LocalRoot(localDirectory, create: true);
        var root = SyncPath.NormalizeRoot(remoteRoot);
        var excludes = Excludes(options);

        SyncStateStore.EnsureFolder(local);
        var state = (await SyncStateStore.LoadAsync(local, SandboxId, root, cancellationToken).ConfigureAwait(false))
            .WithResolvedConflicts(copy => LocalFs.Lstat(LocalEntries.Full(local, copy)) != LocalKind.None);
        var scan = await LocalScanner.ScanAsync(local, excludes, cancellationToken).ConfigureAwait(false);
        var sandbox = (await ListSandboxAsync(root, cancellationToken).ConfigureAwait(false))
            .Where(e => !excludes.IsMatch(e.Path, e.Type == SyncEntryType.Directory))
            .ToList();
        var plan = MergePlanner.Plan(state.Entries, scan.Entries, sandbox, scan.Excluded);

        var baseline = state.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var applier = new LocalApplier(local, _remote, root, (path, entry) =>
        {
            if (entry is null)
            {
                baseline.Remove(path);
            }
            else
            {
                baseline[path] = entry;
            }
        });
        try
        {
            await applier.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Record what was finished, so that the next pull does not take its own writes for local edits.
            await TrySaveAsync(local, state with { Entries = baseline.Values.OrderBy(e => e.Path, SyncPath.Comparer).ToList() }).ConfigureAwait(false);
            throw;
        }
        await SyncStateStore.SaveAsync(local, SandboxId, new SyncState(SyncState.CurrentVersion, root, plan.Baseline, plan.ConflictRecords), cancellationToken).ConfigureAwait(false);

        return new PullReport(
            plan.Items.Where(i => i.Decision == MergeDecision.TakeSandbox && i.Sandbox is not null).Select(i => i.Path).ToList(),
            plan.Items.Where(i => i.Decision == MergeDecision.KeepLocal).Select(i => i.Path).ToList(),
            plan.Items.Where(i => i.Decision == MergeDecision.TakeSandbox && i.Sandbox is null).Select(i => i.Path).ToList(),
            plan.Conflicts,
            applier.BytesWritten);
    }

    private async Task TrySaveAsync(string local, SyncState state)
    {
        try
        {
            await SyncStateStore.SaveAsync(local, SandboxId, state, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SyncException)
        {
            // The pull's own failure is the one to report; without this record the next pull reports
            // its half-done writes as conflicts, and still loses nothing.
        }
    }
}
