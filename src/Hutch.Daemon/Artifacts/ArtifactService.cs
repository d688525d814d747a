using System.Text.RegularExpressions;
using Hutch.Artifacts;
using Hutch.Daemon.Registry;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Artifacts;

/// <summary>
/// Artifacts (docs/artifacts.md, docs/design/0013): each sandbox with globs, or with a session key,
/// has one set; after every command the new and changed files its globs match are stored
/// (content-addressed) and its manifest rewritten; a new sandbox of a session gets the session's
/// files back when none of its sandboxes runs. Registered with the lifecycle as a setting
/// (validation, the set at create, restore) and with Exec/ as its detector.
/// </summary>
public sealed partial class ArtifactService : ISandboxSetting, ISandboxObserver, IArtifactDetector
{
    public const int MaxPurposeLength = 256;
    private const string SessionPrefix = "session:";

    private readonly ArtifactRegistry _registry;
    private readonly IArtifactStore _store;
    private readonly LinkSigner _links;
    private readonly SandboxDirectory _directory;
    private readonly SandboxStorage _storage;
    private readonly HutchOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    // One detection at a time per set: two commands ending together must not store a file twice or
    // write the manifest from two different states.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ArtifactScanner> _scanners = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] _gates = [.. Enumerable.Range(0, 32).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly ArtifactSpool _spool;
    // Sets whose manifest in the store may not be what the registry records (every set at start, and
    // a set whose manifest write the store refused): the retry checks them and writes them again.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _unverified = new(StringComparer.Ordinal);

    public ArtifactService(ArtifactRegistry registry, IArtifactStore store, ArtifactSpool spool, byte[] key, SandboxDirectory directory, SandboxStorage storage,
        HutchOptions options, TimeProvider time, ILogger log)
    {
        (_registry, _store, _spool, _directory, _storage, _options, _time, _log) = (registry, store, spool, directory, storage, options, time, log);
        // Links and manifests are signed with keys derived apart from one secret, so neither can stand for the other.
        _links = new LinkSigner(System.Security.Cryptography.HMACSHA256.HashData(key, "hutch artifact links"u8), time);
    }

    /// <summary>The daemon's own URL, for links the local store's files are fetched by (set once it listens).</summary>
    public string? BaseUrl { get; set; }

    public void Validate(CreateSandboxRequest request)
    {
        if (request.Artifacts is not { } spec)
        {
            return;
        }
        ArtifactGlobs.Parse(spec.Globs);
        if (spec.Session is { } session && !SessionKey().IsMatch(session))
        {
            throw new HutchException(ErrorCodes.InvalidRequest, "artifacts.session: 1-128 of letters, digits, '.', '_' and '-', starting with a letter or digit");
        }
    }

    public async Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        if (request.Artifacts is not { } spec || (spec.Globs is not { Length: > 0 } && spec.Session is null))
        {
            return record;
        }
        var set = spec.Session is { } session ? SessionPrefix + session : record.Id;
        var existing = _registry.Set(set);
        if (existing?.SandboxId is { } holder && holder != record.Id && IsLive(holder))
        {
            throw new HutchException(ErrorCodes.SessionLive,
                $"The artifact session '{spec.Session}' is held by the running sandbox {holder}: use it, or delete it first. A running session is never overwritten with its stored files.");
        }
        var identity = existing?.Identity ?? await _store.CreateSetAsync(set, cancellationToken).ConfigureAwait(false);
        var saved = new ArtifactSetRecord(set, spec.Session, record.Id, spec.Globs ?? existing?.Globs ?? [], identity);
        _registry.SaveSet(saved);
        if (existing is not null)
        {
            await RestoreAsync(record, saved, cancellationToken).ConfigureAwait(false);
        }
        return record;
    }

    public Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public SandboxInfo Describe(SandboxInfo info) =>
        _registry.SetOfSandbox(info.Id) is { } set ? info with { Artifacts = new ArtifactSpec(set.Globs, set.Session) } : info;

    public void Adopted(SandboxRecord record)
    {
    }

    /// <summary>A deleted sandbox's set stays (artifacts outlive sandboxes); a session's is free for its next sandbox.</summary>
    public async Task DeletingAsync(string sandboxId)
    {
        if (_registry.SetOfSandbox(sandboxId) is { } set)
        {
            _scanners.TryRemove(set.Set, out _);   // the next sandbox of a session has another workspace
            await KeepBeforeDeleteAsync(sandboxId, set).ConfigureAwait(false);
        }
        _registry.Release(sandboxId);
    }

    public async Task<IReadOnlyList<ArtifactInfo>?> DetectAsync(string sandboxId, CancellationToken cancellationToken)
    {
        if (_registry.SetOfSandbox(sandboxId) is not { Globs.Length: > 0 } set)
        {
            return null;
        }
        var record = _directory.Registry.Find(sandboxId);
        if (record is null || !IsLive(record))
        {
            return null;   // deleting: its workspace is going, and its set may be deleted now
        }
        var gate = GateOf(set.Set);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Again under the gate, which a set's deletion holds too: a set deleted meanwhile is not written again.
            if (_registry.Set(set.Set) is null || !IsLive(sandboxId))
            {
                return null;
            }
            return await DetectAsync(record, set, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && (!IsLive(sandboxId) || !Directory.Exists(_storage.WorkspaceOf(record))))
        {
            // The sandbox was deleted under the detection (a delete removes the workspace before the
            // sandbox stops reading as running): nothing more of it is kept, and the command's result
            // still comes back (ArtifactRaceTests).
            Log.ArtifactSkipped(_log, "*", set.Set, "its sandbox is being deleted: " + e.Message);
            return null;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<IReadOnlyList<ArtifactInfo>?> DetectAsync(SandboxRecord record, ArtifactSetRecord set, CancellationToken cancellationToken)
    {
        var globs = ArtifactGlobs.Parse(set.Globs);
        var known = _registry.Files(set.Set).ToDictionary(f => f.Path, StringComparer.Ordinal);
        List<ArtifactScanner.Changed> changed;
        using (var workspace = OpenWorkspace(record))
        {
            changed = _scanners.GetOrAdd(set.Set, _ => new ArtifactScanner()).Scan(workspace, globs, known, cancellationToken);
        }
        if (changed.Count == 0)
        {
            return null;
        }
        var kept = new List<ArtifactInfo>();
        foreach (var file in changed)
        {
            var purpose = known.TryGetValue(file.Path, out var before) ? before.Purpose : "output";
            try
            {
                if (await KeepAsync(record, set, file.Path, purpose, cancellationToken).ConfigureAwait(false) is { } info)
                {
                    kept.Add(info);
                }
            }
            catch (CodedException e) when (e.Code is ErrorCodes.ArtifactNotFile or ErrorCodes.ArtifactTooLarge)
            {
                // Between the scan and this open a process of the sandbox swapped the file (or a
                // directory above it) for a symlink, a directory or a FIFO: skipped, as the scan skips
                // one it sees so. Refusing it is the record's answer; the command's result must still
                // come back (ArtifactRaceTests). A file over HUTCH_ARTIFACT_MAX_BYTES is skipped so too.
                Log.ArtifactSkipped(_log, file.Path, set.Set, e.Message);
            }
        }
        await WriteManifestAsync(set, cancellationToken).ConfigureAwait(false);
        return kept.Count == 0 ? null : kept;
    }

    private SemaphoreSlim GateOf(string set) => _gates[(uint)StringComparer.Ordinal.GetHashCode(set) % (uint)_gates.Length];

    private static bool IsLive(SandboxRecord record) => record.State == SandboxStates.Running;

    private bool IsLive(string sandboxId) => _directory.Registry.Find(sandboxId) is { } record && IsLive(record);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex SessionKey();
}
