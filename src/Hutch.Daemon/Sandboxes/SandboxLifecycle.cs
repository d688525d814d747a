using System.Collections.Concurrent;
using System.Net.Sockets;
using Hutch.Daemon.Registry;
using Hutch.Daemon.Templates;
using Hutch.Runtime;
using Hutch.Runtime.AgentLink;
using Hutch.Runtime.Cgroups;
using Hutch.Runtime.Oci;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// Creating, describing, listing, keeping and deleting sandboxes. State that must outlive the
/// process is in the registry; the live control channels are in the <see cref="SandboxDirectory"/>.
/// </summary>
public sealed class SandboxLifecycle(SandboxDirectory directory, SandboxRunner runner, WarmPool pool, SandboxStorage storage, OciRuntime runtime,
    TemplateRoots templates, HutchOptions options, TimeProvider time, ILogger log)
{
    private readonly CgroupReader _cgroups = new();
    private readonly ConcurrentDictionary<string, Lazy<Task>> _deletions = new();
    private readonly DeletionRetries _retries = new(time);
    private readonly List<ISandboxSetting> _settings = [];

    /// <summary>A feature's settings, given at create and changed with PATCH.</summary>
    public void Add(ISandboxSetting setting) => _settings.Add(setting);

    /// <param name="hostWorkspace">
    /// In-process callers only (never reachable over HTTP): bind this existing host directory as
    /// /workspace instead of a fresh one, and never delete it.
    /// </param>
    /// <param name="buildRoot">
    /// In-process callers only (the template builder): make the root from this build step's state in
    /// the build cache instead of <see cref="CreateSandboxRequest.Template"/>.
    /// </param>
    public async Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace, CancellationToken cancellationToken, string? buildRoot = null)
    {
        RequestValidator.Name(request.Name);
        var user = RequestValidator.User(request.User);
        var limits = RequestValidator.Limits(request.Limits, storage.LimitsFor(hostWorkspace));
        var ttl = RequestValidator.Ttl(request.TtlSeconds);
        var env = RequestValidator.Env(request.Env, "env");
        var labels = SandboxLabels.Validate(request.Labels);
        var cwd = WorkspaceCwd.Resolve(request.Cwd);
        var template = buildRoot is not null ? templates.ResolveBuild(buildRoot) : request.Template is null ? null : templates.Resolve(request.Template);
        foreach (var setting in _settings)
        {
            setting.Validate(request);
        }
        if (hostWorkspace is not null && !Directory.Exists(hostWorkspace))
        {
            throw new HutchException(ErrorCodes.InvalidRequest, $"The workspace directory '{hostWorkspace}' does not exist. Create it first.");
        }
        try
        {
            runtime.ResolveBinary();
        }
        catch (OciRuntimeException e)
        {
            throw new HutchException(ErrorCodes.RuntimeUnavailable, e.Message);
        }

        try
        {
            var now = time.GetUtcNow();
            var record = pool.Fits(request, hostWorkspace, template?.Reference)
                && pool.TryClaim(template?.Reference, request.Name, WithTemplateEnv(env, template), labels, cwd, now, ttl) is { } claimed
                ? claimed
                : await StartNewAsync(new SandboxRecord(
                    SandboxIds.New(), request.Name, SandboxStates.Running, now, ttl is { } t ? now.AddSeconds(t) : null,
                    user, cwd, WithTemplateEnv(env, template), limits, 0, hostWorkspace, directory.Owner, ttl is { } d ? TtlDeadline.After(d) : null, labels,
                    hostWorkspace is null ? null : SandboxStorage.Caller(), Template: template?.Reference, MountPoints: OwnMountPoints(request)),
                    cancellationToken).ConfigureAwait(false);
            record = await ApplySettingsAsync(record, request, cancellationToken).ConfigureAwait(false);
            Log.Created(log, record.Id, record.Name ?? "", (time.GetUtcNow() - now).TotalMilliseconds);
            return Describe(record, running: true);
        }
        catch (Exception e) when (e is not HutchException && DiskFull.Caused(e))
        {
            throw DiskFull.OnCreate(directory.Paths.DataDir, e);
        }
    }

    /// <summary>
    /// The bundle paths beyond /bundles a create asks for (checked by the bundles feature's
    /// Validate): bound at start, so such a sandbox is never one from the pool.
    /// </summary>
    internal static string[]? OwnMountPoints(CreateSandboxRequest request) =>
        request.Bundles?.Select(BundleLocations.PathOf).Where(path => !BundleLocations.IsUnderRoot(path)).ToArray() is { Length: > 0 } paths ? paths : null;

    /// <summary>The template's environment (its image's ENV) under the caller's: a variable given at create wins.</summary>
    private static Dictionary<string, string> WithTemplateEnv(Dictionary<string, string> env, TemplateRecord? template)
    {
        if (template is null)
        {
            return env;
        }
        var merged = new Dictionary<string, string>(template.Manifest.Env, StringComparer.Ordinal);
        foreach (var (name, value) in env)
        {
            merged[name] = value;
        }
        return merged;
    }

    /// <summary>The features' settings on a sandbox that is the caller's now; if one fails, the sandbox goes.</summary>
    private async Task<SandboxRecord> ApplySettingsAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var setting in _settings)
            {
                record = await setting.ApplyAsync(record, request, cancellationToken).ConfigureAwait(false);
            }
            return record;
        }
        catch
        {
            await DeleteAsync(record.Id, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<SandboxRecord> StartNewAsync(SandboxRecord wanted, CancellationToken cancellationToken)
    {
        var record = directory.Registry.Insert(wanted, SandboxIds.FirstHostId, SandboxSpec.IdRangeSize, options.MaxSandboxes);
        try
        {
            return (await runner.StartAsync(record, cancellationToken).ConfigureAwait(false)).Record;
        }
        catch (Exception e)
        {
            // Nothing of a failed create is left: no container, cgroup, bundle, workspace or row.
            // A cleanup that fails too must not hide why the create failed, so it is logged, and the row
            // stays (as lost) only when the runtime might still hold something a later delete must remove.
            try
            {
                await runner.RemoveEverythingAsync(record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
                directory.Registry.Remove(record.Id);
            }
            catch (Exception cleanup) when (cleanup is OciRuntimeException or IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log.CleanupFailed(log, record.Id, cleanup);
                directory.Registry.SetState(record.Id, SandboxStates.Lost);
            }
            if (DiskFull.Caused(e))
            {
                throw DiskFull.OnCreate(directory.Paths.DataDir, e);
            }
            if (e is OciRuntimeException or AgentException or SocketException or TimeoutException or IOException)
            {
                throw new HutchException(ErrorCodes.RuntimeFailed, $"The sandbox could not be started: {e.Message}. Run `hutch doctor` to check the host.", e);
            }
            throw;
        }
    }

    public SandboxInfo Get(string idOrName)
    {
        var record = directory.Find(idOrName);
        return Describe(record, running: directory.IsConnected(record.Id));
    }

    /// <param name="labels">Filters "k=v" or "k" (see <see cref="SandboxLabels.ParseFilters"/>); a sandbox must match all.</param>
    public IReadOnlyList<SandboxInfo> List(IEnumerable<string>? labels = null)
    {
        var filters = SandboxLabels.ParseFilters(labels ?? []);
        return [.. directory.Registry.ListLive()
            .Where(r => SandboxLabels.Match(r.Labels ?? [], filters))
            .Select(r => Describe(r, running: directory.IsConnected(r.Id)))];
    }

    /// <summary>
    /// Gives a sandbox a new TTL counted from now (longer, shorter, or a first one). One whose TTL
    /// has passed already is not revived: the reaper is deleting it, so the answer is sandbox_expired.
    /// </summary>
    public SandboxInfo SetTtl(string idOrName, long? ttlSeconds)
    {
        var ttl = RequestValidator.Ttl(ttlSeconds)
            ?? throw new HutchException(ErrorCodes.InvalidTtl, "Give ttlSeconds, the new TTL counted from now (1-2592000 seconds).");
        return SetTtl(directory.Find(idOrName), ttl, idOrName);
    }

    /// <summary>
    /// PATCH: a new TTL, and each feature's settings that the request names (on a running sandbox).
    /// </summary>
    public async Task<SandboxInfo> UpdateAsync(string idOrName, UpdateSandboxRequest request, CancellationToken cancellationToken)
    {
        if (request.Network is null)
        {
            return SetTtl(idOrName, request.TtlSeconds);
        }
        var ttl = RequestValidator.Ttl(request.TtlSeconds);
        var record = (await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false)).Record;
        foreach (var setting in _settings)
        {
            await setting.UpdateAsync(record, request, cancellationToken).ConfigureAwait(false);
        }
        return ttl is { } t ? SetTtl(record, t, idOrName) : Get(record.Id);
    }

    private SandboxInfo SetTtl(SandboxRecord record, long ttl, string idOrName)
    {
        var now = time.GetUtcNow();
        if (record.HasExpired(now))
        {
            throw SandboxDirectory.Expired(idOrName, record.ExpiresAtFrom(now) ?? now);
        }
        if (!directory.Registry.SetExpiry(record.Id, now.AddSeconds(ttl), TtlDeadline.After(ttl)))
        {
            throw directory.Gone(record.Id);
        }
        return Get(record.Id);
    }

    /// <summary>Kills everything, removes cgroup, mounts and bundle; the workspace too unless kept. Deleting twice is fine.</summary>
    /// <param name="reason">Why, when the caller did not ask for it: <see cref="SandboxRegistry.ExpiredReason"/> for the reaper.</param>
    public async Task DeleteAsync(string idOrName, bool keepWorkspace, CancellationToken cancellationToken, string? reason = null)
    {
        if (ToDelete(idOrName) is { } record)
        {
            await DeleteOnceAsync(record, keepWorkspace, reason).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The sandbox a delete is about, by id or by the name it had; null when it is deleted already (deleting twice is fine).</summary>
    private SandboxRecord? ToDelete(string idOrName)
    {
        var record = directory.Registry.Find(idOrName) ?? directory.Registry.FindDeletedByName(idOrName) ?? throw HutchException.NotFound(idOrName);
        return record.State == SandboxStates.Deleted ? null : record;
    }

    /// <summary>
    /// Starts deleting and returns at once (`DELETE …?wait=false`, `hutch run` on a daemon): from now on
    /// the sandbox is "deleting", which no new work is let into, and the removal runs to the end in
    /// the background. What cannot be removed is retried like any failed delete, after a restart too.
    /// </summary>
    /// <returns>Starts the removal: call it once the caller has its answer, so the teardown does not delay it.</returns>
    public Action BeginDelete(string idOrName, bool keepWorkspace)
    {
        if (ToDelete(idOrName) is not { } record)
        {
            return static () => { };
        }
        directory.Registry.SetState(record.Id, SandboxStates.Deleting);
        // Its failure is logged and retried by DeleteOnceAsync; nobody waits for it. Should this never
        // be called, the reaper finds the sandbox "deleting" and removes it within a second.
        return () => _ = DeleteOnceAsync(record, keepWorkspace, reason: null).ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>
    /// One deletion per sandbox at a time: a second caller (a retry, the TTL reaper, a parallel
    /// request) waits for the first's outcome instead of racing it over the same container, cgroups
    /// and files. It runs to the end even when a caller stops waiting, so nothing is left half removed.
    /// One that cannot remove everything leaves the sandbox "deleting" and says so; the daemon tries
    /// again (<see cref="RetryDeletionsAsync"/>), and every step is safe to run twice.
    /// </summary>
    private Task DeleteOnceAsync(SandboxRecord record, bool keepWorkspace, string? reason) =>
        _deletions.GetOrAdd(record.Id, id => new Lazy<Task>(() => Task.Run(async () =>
        {
            var marker = directory.Paths.KeepWorkspaceMarker(id);
            try
            {
                // A caller that read the row just before another deletion finished finds it done.
                if (directory.Registry.Find(record.Id) is { State: not SandboxStates.Deleted })
                {
                    if (keepWorkspace)
                    {
                        PrivateFiles.OpenWrite(marker, append: true).Dispose();
                    }
                    await runner.DestroyAsync(record, keepWorkspace || File.Exists(marker), CancellationToken.None, reason).ConfigureAwait(false);
                }
                File.Delete(marker);
                _retries.Succeeded(id);
            }
            catch (Exception e) when (e is OciRuntimeException or IOException or UnauthorizedAccessException)
            {
                directory.Registry.SetState(id, SandboxStates.Deleting);
                _retries.Failed(id);
                Log.DeleteIncomplete(log, id, e);
                throw new HutchException(ErrorCodes.SandboxDeleteIncomplete,
                    $"The sandbox {id} could not be removed completely ({e.Message}). It is now 'deleting': its processes are stopped, and the daemon " +
                    "tries again on its own (also after a restart) until nothing of it is left. Nothing more is needed from you; GET shows when it is gone.", e);
            }
            finally
            {
                _deletions.TryRemove(id, out _);
            }
        }))).Value;

    /// <summary>
    /// Tries again every sandbox left "deleting" whose time has come; one whose delete asked to keep the
    /// workspace keeps it (a marker in the data dir says so, for the next daemon too).
    /// </summary>
    public async Task RetryDeletionsAsync()
    {
        foreach (var record in directory.Registry.ListLive())
        {
            if (record.State != SandboxStates.Deleting || !_retries.IsDue(record.Id))
            {
                continue;
            }
            try
            {
                await DeleteOnceAsync(record, keepWorkspace: false, reason: null).ConfigureAwait(false);
                Log.DeleteRetried(log, record.Id);
            }
            catch (HutchException)
            {
                // Logged by the attempt; the next one comes later.
            }
        }
    }

    /// <summary>
    /// Lets the sandbox outlive this engine: it is handed to whichever daemon runs next, which adopts it.
    /// </summary>
    public async Task KeepAsync(string idOrName)
    {
        var record = directory.Find(idOrName);
        directory.Registry.SetOwner(record.Id, "daemon");
        await directory.DisconnectAsync(record.Id).ConfigureAwait(false); // its channel closing now is a hand-over, not a loss
    }

    private SandboxInfo Describe(SandboxRecord record, bool running)
    {
        SandboxUsage? usage = null;
        if (running && _cgroups.Read(SandboxSpec.CgroupPathOf(record.Id)) is { } u)
        {
            var (disk, checkpoints) = storage.DiskUsageOf(record);
            usage = new SandboxUsage(u.MemoryBytes, u.MemoryPeakBytes, u.Pids, u.CpuTimeMs, u.OomKills,
                disk?.Bytes, disk?.LimitBytes, checkpoints?.Bytes);
        }
        var info = new SandboxInfo(record.Id, record.Name, record.State, record.CreatedAt, record.ExpiresAtFrom(time.GetUtcNow()), record.User, record.Cwd, record.Limits, usage,
            record.Labels is { Count: > 0 } labels ? labels : null, record.Network ?? new NetworkPolicy(NetworkModes.None)) { Template = record.Template };
        foreach (var setting in _settings)
        {
            info = setting.Describe(info);
        }
        return info;
    }
}
