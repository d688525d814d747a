using Hutch.Artifacts;

namespace Hutch.Daemon.Artifacts;

// Pending files stored once the store answers again, without waiting for a command.
public sealed partial class ArtifactService
{
    /// <summary>
    /// The daemon's retry loop: a pass at once (start), then every HUTCH_ARTIFACT_RETRY_SECONDS. A
    /// pass the store did not answer doubles the wait, up to six intervals: a store down for hours
    /// is not asked every few seconds, and one that is back is found within a minute (by default).
    /// </summary>
    public void StartRetries(CancellationToken stopping) => _ = Task.Run(async () =>
    {
        var interval = TimeSpan.FromSeconds(_options.ArtifactRetrySeconds);
        var wait = interval;
        try
        {
            while (true)
            {
                bool answered;
                try
                {
                    answered = await RetryAsync(stopping).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.ArtifactRetryFailed(_log, e);   // the loop must outlive one bad pass
                    answered = false;
                }
                wait = answered ? interval : TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, interval.Ticks * 6));
                await Task.Delay(wait, _time, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Engine stopping.
        }
    });

    /// <summary>
    /// One pass: manifests that may be behind are written, pending files stored (from the spool, or
    /// from the workspace of their running sandbox), each touched set's manifest rewritten, and
    /// spooled content no pending file needs removed. False when the store did not answer.
    /// </summary>
    public async Task<bool> RetryAsync(CancellationToken cancellationToken)
    {
        if (!await VerifySetsAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        foreach (var set in _registry.SetsWithPending())
        {
            if (!await RetrySetAsync(set, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }
        await _spool.RemoveUnneededAsync(_registry.PendingBlobs, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task<bool> RetrySetAsync(string setId, CancellationToken cancellationToken)
    {
        var gate = GateOf(setId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var stored = 0;
        try
        {
            if (_registry.Set(setId) is not { } set)
            {
                return true;
            }
            // Read under the gate: a command's detection may have kept a newer version meanwhile.
            foreach (var file in _registry.Files(setId).Where(f => f.State == ArtifactStates.Pending))
            {
                if (await RetryFileAsync(set, file, cancellationToken).ConfigureAwait(false))
                {
                    stored++;
                }
            }
            if (stored > 0)
            {
                Log.ArtifactsRetried(_log, stored, setId);
                await WriteManifestAsync(set, cancellationToken).ConfigureAwait(false);
            }
            return true;
        }
        catch (ArtifactException e) when (e.Code == ErrorCodes.ArtifactStoreUnavailable)
        {
            Log.ArtifactPending(_log, "a retry", setId, e.Message);
            if (stored > 0)
            {
                _unverified.TryAdd(setId, 0);   // stored files the manifest does not name yet
            }
            return false;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Stores one pending file; false when it stays pending. Throws artifact_store_unavailable for the spool's upload.</summary>
    private async Task<bool> RetryFileAsync(ArtifactSetRecord set, ArtifactFileRecord file, CancellationToken cancellationToken)
    {
        if (file.Sha256 is { } sha256 && _spool.Open(sha256) is { } spooled)
        {
            using (spooled)
            {
                await _store.PutAsync(spooled, cancellationToken).ConfigureAwait(false);
            }
            _registry.SaveFile(set.Set, file with { State = ArtifactStates.Stored });
            return true;
        }
        // Never spooled (it changed while read): only its sandbox's workspace still has it.
        if (set.SandboxId is { } sandboxId && _directory.Registry.Find(sandboxId) is { } record && IsLive(record))
        {
            try
            {
                switch (await KeepAsync(record, set, file.Path, file.Purpose, cancellationToken).ConfigureAwait(false))
                {
                    case { State: ArtifactStates.Stored }:
                        return true;
                    case null:
                        // Removed from the workspace since: there is nothing left to keep.
                        Log.ArtifactDropped(_log, file.Path, set.Set, "the sandbox removed it before the store took it");
                        _registry.DeleteFile(set.Set, file.Path);
                        break;
                }
            }
            catch (CodedException e) when (e.Code is not ErrorCodes.ArtifactStoreUnavailable)
            {
                Log.ArtifactPending(_log, file.Path, set.Set, e.Message);   // e.g. replaced by a symlink since
            }
        }
        else if (file.Sha256 is null)
        {
            // Its sandbox is gone, and with it the only copy (the last try before the delete could not
            // read it whole either): listed pending for good otherwise.
            Log.ArtifactDropped(_log, file.Path, set.Set, "its sandbox was deleted before the file could be read whole");
            _registry.DeleteFile(set.Set, file.Path);
        }
        return false;
    }

    /// <summary>
    /// Before a sandbox's workspace goes: a pending file never spooled (it changed while read) exists
    /// only there, so it gets one more try, to the store or else the spool.
    /// </summary>
    private async Task KeepBeforeDeleteAsync(string sandboxId, ArtifactSetRecord set)
    {
        if (!_registry.Files(set.Set).Any(f => f.State == ArtifactStates.Pending && f.Sha256 is null)
            || _directory.Registry.Find(sandboxId) is not { } record)
        {
            return;
        }
        var gate = GateOf(set.Set);
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var file in _registry.Files(set.Set).Where(f => f.State == ArtifactStates.Pending && f.Sha256 is null))
            {
                try
                {
                    if (await KeepAsync(record, set, file.Path, file.Purpose, CancellationToken.None).ConfigureAwait(false) is null)
                    {
                        Log.ArtifactDropped(_log, file.Path, set.Set, "the sandbox removed it before the store took it");
                        _registry.DeleteFile(set.Set, file.Path);
                    }
                }
                catch (CodedException e)
                {
                    Log.ArtifactPending(_log, file.Path, set.Set, e.Message);
                }
            }
            await WriteManifestAsync(set, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.ArtifactPending(_log, "files of a deleted sandbox", set.Set, e.Message);   // the delete goes on
        }
        finally
        {
            gate.Release();
        }
    }
}
