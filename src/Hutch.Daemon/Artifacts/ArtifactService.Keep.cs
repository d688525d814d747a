using Hutch.Artifacts;
using Hutch.Daemon.Registry;
using Hutch.Files;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Artifacts;

// Keeping one file, writing the manifest, restoring a session, listing and links.
public sealed partial class ArtifactService
{
    /// <summary>Keeps the workspace file <paramref name="path"/> now (a glob's match or a caller's record); null when it is gone.</summary>
    private async Task<ArtifactInfo?> KeepAsync(SandboxRecord record, ArtifactSetRecord set, string path, string purpose, CancellationToken cancellationToken)
    {
        using var workspace = OpenWorkspace(record);
        SafeFileHandle file;
        try
        {
            file = Beneath.Open(workspace, path, Beneath.O_RDONLY | Beneath.O_NOFOLLOW | Beneath.O_NONBLOCK | Beneath.O_NOCTTY, noSymlinks: true);
        }
        catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ELOOP })
        {
            throw NotAFile(path, "it is a symbolic link, or under one");
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            return null;   // removed since the scan
        }
        using (file)
        {
            var status = At.Stat(file, "");
            if (status.Kind != EntryKind.File)
            {
                throw NotAFile(path, "it is not a regular file");
            }
            var now = _time.GetUtcNow();
            ArtifactFileRecord kept;
            try
            {
                var blob = await _store.PutAsync(file, cancellationToken).ConfigureAwait(false);
                kept = new ArtifactFileRecord(path, purpose, blob.Size, blob.Sha256, now, ArtifactStates.Stored, status.Inode, status.MtimeNs, status.CtimeNs);
                _registry.SaveFile(set.Set, kept);
            }
            catch (ArtifactException e) when (e.Code == ErrorCodes.ArtifactStoreUnavailable)
            {
                Log.ArtifactPending(_log, path, set.Set, e.Message);
                kept = await KeepPendingAsync(set, file, path, purpose, status, now, cancellationToken).ConfigureAwait(false);
            }
            return Info(set.Set, kept);
        }
    }

    /// <summary>
    /// A file the store did not take: its content goes to the spool, so neither a deleted sandbox nor
    /// a restart loses it, and the retry uploads it from there. The row keeps the workspace file's
    /// stat from before the read, so once stored it is not read again unless it changed since.
    /// Content that could not be spooled (it changed while read) is read from the workspace again
    /// by the retry or the next command.
    /// </summary>
    private Task<ArtifactFileRecord> KeepPendingAsync(ArtifactSetRecord set, SafeFileHandle file, string path, string purpose, EntryStatus status,
        DateTimeOffset now, CancellationToken cancellationToken) =>
        _spool.KeepAsync(file, (spooled, why) =>
        {
            if (why is not null)
            {
                Log.ArtifactNotSpooled(_log, path, set.Set, why);
            }
            var kept = spooled is { } blob
                ? new ArtifactFileRecord(path, purpose, blob.Size, blob.Sha256, now, ArtifactStates.Pending, status.Inode, status.MtimeNs, status.CtimeNs)
                : new ArtifactFileRecord(path, purpose, status.Size, null, now, ArtifactStates.Pending, 0, 0, 0);
            _registry.SaveFile(set.Set, kept);
            return kept;
        }, cancellationToken);

    /// <summary>Rewrites the set's manifest from the files stored now (pending ones are not in it until they are).</summary>
    private async Task WriteManifestAsync(ArtifactSetRecord set, CancellationToken cancellationToken)
    {
        var entries = StoredEntries(set.Set);
        try
        {
            await _store.WriteManifestAsync(new ArtifactManifest(ArtifactManifest.CurrentVersion, set.Set, entries), set.Identity, cancellationToken).ConfigureAwait(false);
        }
        catch (ArtifactException e) when (e.Code == ErrorCodes.ArtifactStoreUnavailable)
        {
            // The registry is ahead of the store's manifest: the retry writes it again.
            Log.ArtifactPending(_log, "manifest", set.Set, e.Message);
            _unverified.TryAdd(set.Set, 0);
        }
    }

    /// <summary>Writes a session's stored files into a new sandbox's workspace, and records them as seen so they are not stored again.</summary>
    private async Task RestoreAsync(SandboxRecord record, ArtifactSetRecord set, CancellationToken cancellationToken)
    {
        var manifest = await _store.ReadManifestAsync(set.Set, cancellationToken).ConfigureAwait(false);
        if (manifest is null)
        {
            return;
        }
        using var workspace = new Workspace(_storage.WorkspaceOf(record), record.HostUid, record.HostUid, _storage.EnsureStaging(record));
        using var top = OpenWorkspace(record);
        foreach (var entry in manifest.Entries)
        {
            using (var content = await _store.OpenAsync(entry.Sha256, cancellationToken).ConfigureAwait(false))
            {
                await workspace.WriteAsync(entry.Path, content, new WriteOptions(Hash: false), cancellationToken).ConfigureAwait(false);
            }
            SafeFileHandle written;
            try
            {
                written = Beneath.Open(top, entry.Path, Beneath.O_PATH | Beneath.O_NOFOLLOW, noSymlinks: true);
            }
            catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP })
            {
                // A process of the sandbox (a pooled template's start command runs before the restore)
                // removed it or put a link in its way since it was written: not recorded as seen, so
                // whatever is there is looked at by the next detection (was a 500; ArtifactRestoreRaceTests).
                Log.ArtifactSkipped(_log, entry.Path, set.Set, "changed by the sandbox as it was restored: " + e.Message);
                continue;
            }
            using (written)
            {
                var status = At.Stat(written, "");
                _registry.SaveFile(set.Set, new ArtifactFileRecord(entry.Path, entry.Purpose, entry.Size, entry.Sha256, entry.Created, ArtifactStates.Stored,
                    status.Inode, status.MtimeNs, status.CtimeNs));
            }
        }
    }

    /// <summary>Keeps one file now, whether or not a glob matches it (<c>POST …/artifacts</c>).</summary>
    public async Task<ArtifactInfo> RecordAsync(string idOrName, RecordArtifactRequest request, CancellationToken cancellationToken)
    {
        var record = _directory.Find(idOrName);
        var path = WorkspacePath.Relative(request.Path);
        if (path.Length == 0)
        {
            throw NotAFile(request.Path, "it is the workspace itself");
        }
        var purpose = request.Purpose ?? "output";
        if (purpose.Length > MaxPurposeLength || purpose.Contains('\0'))
        {
            throw new HutchException(ErrorCodes.InvalidRequest, $"purpose: at most {MaxPurposeLength} characters, no NUL");
        }
        var set = _registry.SetOfSandbox(record.Id) ?? await NewSetAsync(record, cancellationToken).ConfigureAwait(false);
        var gate = GateOf(set.Set);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var info = await KeepAsync(record, set, path, purpose, cancellationToken).ConfigureAwait(false)
                ?? throw NotAFile(path, "there is no such file");
            await WriteManifestAsync(set, cancellationToken).ConfigureAwait(false);
            return info;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A set's files, with fresh links (<c>GET …/artifacts</c>, <c>GET /v1/artifacts/sets/{set}</c>).</summary>
    public ArtifactList List(string set) =>
        new(set, [.. _registry.Files(RequireSet(set).Set).Select(f => Info(set, f))]);

    /// <summary>The set of a sandbox: its own, or its session's.</summary>
    public string SetOf(string idOrName) =>
        _registry.SetOfSandbox(_directory.Find(idOrName).Id)?.Set
        ?? throw new HutchException(ErrorCodes.ArtifactNotFound, $"Sandbox '{idOrName}' keeps no artifacts: create it with artifacts.globs (or --artifacts), or record a file with POST …/artifacts.");

    /// <summary>A stored file's content by set and path (API key), for <c>GET /v1/artifacts/sets/{set}/content</c>.</summary>
    public async Task<(ArtifactFileRecord File, Stream Content)> OpenAsync(string set, string path, CancellationToken cancellationToken)
    {
        var file = _registry.Files(RequireSet(set).Set).FirstOrDefault(f => f.Path == path && f.State == ArtifactStates.Stored)
            ?? throw new HutchException(ErrorCodes.ArtifactNotFound, $"The set '{set}' has no stored artifact '{path}'.");
        return (file, await _store.OpenAsync(file.Sha256!, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A link's file (no API key): the claim must still match what the set's manifest records.</summary>
    public async Task<(ArtifactFileRecord File, Stream Content)> OpenLinkAsync(string token, CancellationToken cancellationToken)
    {
        var claim = _links.Verify(token);
        var manifest = await _store.ReadManifestAsync(claim.Set, cancellationToken).ConfigureAwait(false);
        var entry = manifest?.Entries.FirstOrDefault(e => e.Path == claim.Path && e.Sha256 == claim.Sha256)
            ?? throw new HutchException(ErrorCodes.ArtifactNotFound, "This link's file is no longer kept (deleted, or replaced by a newer version).");
        var file = new ArtifactFileRecord(entry.Path, entry.Purpose, entry.Size, entry.Sha256, entry.Created, ArtifactStates.Stored, 0, 0, 0);
        return (file, await _store.OpenAsync(entry.Sha256, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Deletes a set's recorded files (newest first), its manifest and root, and the daemon's record of it.</summary>
    public async Task<ArtifactCleanup> DeleteSetAsync(string set, CancellationToken cancellationToken)
    {
        // Under the set's gate: a detection of a command that ended as the sandbox was being deleted, or
        // a retry of pending files, must not write the set's files and manifest again behind its deletion.
        var gate = GateOf(RequireSet(set).Set);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var record = RequireSet(set);
            if (record.SandboxId is { } holder && IsLive(holder))
            {
                throw new HutchException(ErrorCodes.SessionLive, $"The artifact set '{set}' belongs to the running sandbox {holder}: delete the sandbox first.");
            }
            var deleted = await _store.DeleteSetAsync(set, record.Identity, cancellationToken).ConfigureAwait(false);
            _registry.DeleteSet(set);
            _unverified.TryRemove(set, out _);
            return new ArtifactCleanup(set, [.. deleted]);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Deletes stored content no set names any more (<c>POST /v1/artifacts/prune</c>): what deleted
    /// sets kept, once no other set keeps the same bytes. Names come from the registry and from every
    /// set's manifest, so a blob named by either stays.
    /// </summary>
    public async Task<ArtifactPruneResult> PruneAsync(CancellationToken cancellationToken)
    {
        // Every set's gate, always in the same order: no detection or record stores a blob and names it
        // between the names being read and the unnamed blobs being deleted.
        var held = 0;
        try
        {
            for (; held < _gates.Length; held++)
            {
                await _gates[held].WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            var referenced = _registry.KeptHashes();
            foreach (var set in _registry.SetIds())
            {
                if (await _store.ReadManifestAsync(set, cancellationToken).ConfigureAwait(false) is { } manifest)
                {
                    referenced.UnionWith(manifest.Entries.Select(e => e.Sha256));
                }
            }
            var (blobs, bytes) = await _store.PruneAsync(referenced, cancellationToken).ConfigureAwait(false);
            Log.ArtifactsPruned(_log, blobs, bytes);
            return new ArtifactPruneResult(blobs, bytes);
        }
        finally
        {
            for (var i = 0; i < held; i++)
            {
                _gates[i].Release();
            }
        }
    }

    private async Task<ArtifactSetRecord> NewSetAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        var set = new ArtifactSetRecord(record.Id, null, record.Id, [], await _store.CreateSetAsync(record.Id, cancellationToken).ConfigureAwait(false));
        _registry.SaveSet(set);
        return set;
    }

    private ArtifactSetRecord RequireSet(string set) =>
        _registry.Set(set) ?? throw new HutchException(ErrorCodes.ArtifactNotFound, $"There is no artifact set '{set}'.");

    private ArtifactInfo Info(string set, ArtifactFileRecord file)
    {
        if (file.State != ArtifactStates.Stored)
        {
            // Its spooled content's hash stays the daemon's: no link can open it until the store has it.
            return new ArtifactInfo(file.Path, file.Purpose, file.Size, null, file.Created, file.State);
        }
        string? url = null;
        if (file.Sha256 is { } sha)
        {
            var expiry = TimeSpan.FromSeconds(_options.ArtifactLinkSeconds);
            url = _store.PresignedUrl(sha, Path.GetFileName(file.Path), expiry)?.ToString()
                ?? (BaseUrl is { } baseUrl
                    ? $"{baseUrl.TrimEnd('/')}/v1/artifact-links/{_links.Sign(new LinkClaim(set, file.Path, sha, (_time.GetUtcNow() + expiry).ToUnixTimeSeconds()))}"
                    : null);
        }
        return new ArtifactInfo(file.Path, file.Purpose, file.Size, file.Sha256, file.Created, file.State, url);
    }

    /// <summary>The sandbox's workspace top directory, opened for reading (a caller's own workspace too).</summary>
    private SafeFileHandle OpenWorkspace(SandboxRecord record)
    {
        using var path = Beneath.OpenRoot(_storage.WorkspaceOf(record));
        return Beneath.Open(path, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
    }

    private static HutchException NotAFile(string path, string why) =>
        new(ErrorCodes.ArtifactNotFile, $"'{path}' cannot be an artifact: {why}. Artifacts are regular files inside /workspace.");
}
