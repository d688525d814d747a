using Hutch.Artifacts;

namespace Hutch.Daemon.Artifacts;

// Sets checked against the store: at start (a daemon killed mid-write), and after the store refused a manifest.
public sealed partial class ArtifactService
{
    /// <summary>
    /// At daemon start, before any command: every set's manifest is compared with the registry and
    /// written again when they differ (a kill between recording a file and writing the manifest),
    /// then what the kill left in the set is removed. Bounded by <paramref name="limit"/>, and the
    /// first set the store does not answer for ends it: the rest wait for the retry, so a store
    /// that cannot be reached never stops the daemon from starting.
    /// </summary>
    public async Task RecoverAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        foreach (var set in _registry.SetIds())
        {
            _unverified.TryAdd(set, 0);
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(limit);
        try
        {
            await VerifySetsAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.ArtifactRecoveryDeferred(_log, limit.TotalSeconds);
        }
    }

    /// <summary>Checks each set that may differ from the registry; false when the store did not answer (the rest wait for the next pass).</summary>
    private async Task<bool> VerifySetsAsync(CancellationToken cancellationToken)
    {
        foreach (var set in _unverified.Keys.Order(StringComparer.Ordinal).ToList())
        {
            var gate = GateOf(set);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_registry.Set(set) is { } record)
                {
                    await VerifySetAsync(record, cancellationToken).ConfigureAwait(false);
                }
                _unverified.TryRemove(set, out _);
            }
            catch (ArtifactException e) when (e.Code == ErrorCodes.ArtifactStoreUnavailable)
            {
                Log.ArtifactPending(_log, "the check of the manifest", set, e.Message);
                return false;
            }
            catch (ArtifactException e)
            {
                // A manifest that does not verify, or a swapped root: refused, not repaired over, and
                // not asked again every pass. Reads of the set go on refusing it; the operator decides.
                Log.ArtifactSetRefused(_log, set, e.Code, e.Message);
                _unverified.TryRemove(set, out _);
            }
            finally
            {
                gate.Release();
            }
        }
        return true;
    }

    /// <summary>The set's manifest made to say what the registry records, then its leftovers removed (under the set's gate).</summary>
    private async Task VerifySetAsync(ArtifactSetRecord set, CancellationToken cancellationToken)
    {
        var manifest = await _store.ReadManifestAsync(set.Set, cancellationToken).ConfigureAwait(false);
        TakeBackNewerEntries(set.Set, manifest);
        var recorded = StoredEntries(set.Set);
        var inStore = manifest?.Entries.OrderBy(e => e.Path, StringComparer.Ordinal).ToList() ?? [];
        if (!inStore.SequenceEqual(recorded) || (manifest is null && recorded.Count > 0))
        {
            await _store.WriteManifestAsync(new ArtifactManifest(ArtifactManifest.CurrentVersion, set.Set, recorded), set.Identity, cancellationToken)
                .ConfigureAwait(false);
            Log.ArtifactManifestRewritten(_log, set.Set);
        }
        await _store.RemoveLeftoversAsync(set.Set, set.Identity, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A kill leaves the registry at or ahead of the manifest, but a power cut can take back the
    /// registry's last rows (SQLite's synchronous=NORMAL) while the fsync'd manifest kept them. A
    /// verified manifest is the daemon's own word, so an entry newer than the registry's row for its
    /// path (or with none) is taken back into the registry instead of dropped by the rewrite. Newer
    /// only: an older signed manifest put back in the store cannot roll a file back. Recorded with no
    /// workspace stat, so a running sandbox's file is looked at again by its next command.
    /// </summary>
    private void TakeBackNewerEntries(string set, ArtifactManifest? manifest)
    {
        if (manifest is null)
        {
            return;
        }
        var rows = _registry.Files(set).ToDictionary(f => f.Path, StringComparer.Ordinal);
        foreach (var entry in manifest.Entries)
        {
            if (!rows.TryGetValue(entry.Path, out var row) || row.Created < entry.Created)
            {
                _registry.SaveFile(set, new ArtifactFileRecord(entry.Path, entry.Purpose, entry.Size, entry.Sha256, entry.Created, ArtifactStates.Stored, 0, 0, 0));
            }
        }
    }

    /// <summary>The set's stored files as manifest entries, by path (pending ones are not in the manifest until they are stored).</summary>
    private List<ManifestEntry> StoredEntries(string set) =>
        [.. _registry.Files(set).Where(f => f.State == ArtifactStates.Stored)
            .Select(f => new ManifestEntry(f.Path, f.Purpose, f.Size, f.Sha256!, f.Created))
            .OrderBy(e => e.Path, StringComparer.Ordinal)];
}
