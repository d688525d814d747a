using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using Hutch.Daemon.Registry;
using Hutch.Files.Checkpoints;
using Hutch.Protocol.Api;
using Hutch.Runtime;
using Hutch.Runtime.AgentLink;
using Hutch.Runtime.Cgroups;
using Hutch.Runtime.Limits;
using Hutch.Runtime.Oci;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hutch.Daemon.Engine;

/// <summary>
/// The sandbox engine: lifecycle (this file), exec (SandboxEngine.Exec.cs), and adoption and expiry
/// (SandboxEngine.Lifetime.cs). State that must outlive the process is in the registry; the live
/// control channels are in memory and rebuilt by adoption.
/// </summary>
public sealed partial class SandboxEngine : ISandboxEngine
{
    /// <summary>First host uid given to sandboxes; each gets the next free 65536-id range.</summary>
    public const int FirstHostId = 1_000_000;

    private static readonly TimeSpan AgentReadyTimeout = TimeSpan.FromSeconds(10);

    private readonly HutchOptions _options;
    private readonly SandboxPaths _paths;
    private readonly SandboxRegistry _registry;
    private readonly OciRuntime _runtime;
    private readonly CgroupReader _cgroups = new();
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly string _owner;
    private readonly ConcurrentDictionary<string, LiveSandbox> _live = new();
    private readonly ConcurrentDictionary<string, Lazy<Task>> _deletions = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private WorkspaceVolume _volume = null!;
    private BlockIoSupport _blockIo = null!;
    private HostLimits _hostLimits = null!;

    private SandboxEngine(HutchOptions options, string owner, TimeProvider time, ILogger log)
    {
        _options = options;
        _poolTarget = owner == "daemon" ? options.WarmPool : 0;
        _paths = new SandboxPaths(options.DataDir);
        _owner = owner;
        _time = time;
        _log = log;
        PrepareDataDir();
        _registry = new SandboxRegistry(_paths.Database);
        _runtime = new OciRuntime(options.Runtime, _paths.RuntimeState);
    }

    public OciRuntime Runtime => _runtime;

    /// <summary>Where workspaces live and whether checkpoints there are reflinks or copies.</summary>
    public WorkspaceVolume Volume => _volume;

    /// <summary>Which block I/O limits sandboxes can get on the workspace disk.</summary>
    public BlockIoSupport BlockIo => _blockIo;

    /// <summary>The engine a daemon runs: adopts the sandboxes a previous daemon left running and expires TTLs.</summary>
    public static async Task<SandboxEngine> OpenDaemonAsync(HutchOptions options, ILogger? log = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var engine = new SandboxEngine(options, "daemon", time ?? TimeProvider.System, log ?? NullLogger.Instance);
        engine.ProtectFromOomKiller();
        await engine.AdoptAsync(cancellationToken).ConfigureAwait(false);
        engine.StartExpiry();
        engine.RefillPool();
        return engine;
    }

    /// <summary>
    /// The engine of one `hutch run` with no daemon: it only ever touches the sandboxes it creates,
    /// which are recorded as owned by this process so a daemon leaves them alone while it lives.
    /// </summary>
    public static Task<ISandboxEngine> OpenInProcessAsync(HutchOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ISandboxEngine engine = new SandboxEngine(options, $"run:{Environment.ProcessId}", TimeProvider.System, NullLogger.Instance);
        return Task.FromResult(engine);
    }

    public async Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace = null, CancellationToken cancellationToken = default)
    {
        RequestValidator.Name(request.Name);
        var user = RequestValidator.User(request.User);
        var limits = RequestValidator.Limits(request.Limits, LimitsFor(hostWorkspace));
        var ttl = RequestValidator.Ttl(request.TtlSeconds);
        var env = RequestValidator.Env(request.Env, "env");
        var cwd = WorkspaceCwd.Resolve(request.Cwd);
        if (hostWorkspace is not null && !Directory.Exists(hostWorkspace))
        {
            throw HutchException.BadRequest(ErrorCodes.InvalidRequest, $"The workspace directory '{hostWorkspace}' does not exist. Create it first.");
        }
        try
        {
            _runtime.ResolveBinary();
        }
        catch (OciRuntimeException e)
        {
            throw new HutchException(ErrorCodes.RuntimeUnavailable, 503, e.Message);
        }

        try
        {
            return await CreateRecordAsync(request, hostWorkspace, user, limits, ttl, env, cwd, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not HutchException && DiskFull.Caused(e))
        {
            throw DiskFull.OnCreate(_paths.DataDir, e);
        }
    }

    private async Task<SandboxInfo> CreateRecordAsync(CreateSandboxRequest request, string? hostWorkspace, string user, SandboxLimits limits, long? ttl,
        Dictionary<string, string> env, string cwd, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (IsPoolable(request, hostWorkspace) && TakePooled() is { } pooled)
        {
            return ClaimPooled(pooled, request.Name, env, cwd, now, ttl);
        }
        var record = _registry.Insert(new SandboxRecord(
            NewId(), request.Name, SandboxStates.Running, now, ttl is { } t ? now.AddSeconds(t) : null,
            user, cwd, env, limits, 0, hostWorkspace, _owner, ttl is { } d ? TtlDeadline.After(d) : null), FirstHostId, SandboxSpec.IdRangeSize, _options.MaxSandboxes);
        try
        {
            var live = await StartAsync(record, cancellationToken).ConfigureAwait(false);
            Log.Created(_log, record.Id, record.Name ?? "", (_time.GetUtcNow() - now).TotalMilliseconds);
            return Describe(live.Record, running: true);
        }
        catch (Exception e)
        {
            // Nothing of a failed create is left: no container, cgroup, bundle, workspace or row.
            // A cleanup that fails too must not hide why the create failed, so it is logged, and the row
            // stays (as lost) only when the runtime might still hold something a later delete must remove.
            try
            {
                await RemoveEverythingAsync(record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
                _registry.Remove(record.Id);
            }
            catch (Exception cleanup) when (cleanup is OciRuntimeException or IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log.CleanupFailed(_log, record.Id, cleanup);
                _registry.SetState(record.Id, SandboxStates.Lost);
            }
            if (DiskFull.Caused(e))
            {
                throw DiskFull.OnCreate(_paths.DataDir, e);
            }
            if (e is OciRuntimeException or AgentException or SocketException or TimeoutException or IOException)
            {
                throw new HutchException(ErrorCodes.RuntimeFailed, 500,
                    $"The sandbox could not be started: {e.Message}. Run `hutch doctor` to check the host.", e);
            }
            throw;
        }
    }

    /// <summary>The one "find it or 404" of every feature: a sandbox by id or name that is not deleted (the warm pool's are never found).</summary>
    private SandboxRecord FindRecord(string idOrName)
    {
        var record = _registry.Find(idOrName);
        return record is null || record.State == SandboxStates.Deleted ? throw HutchException.NotFound(idOrName) : record;
    }

    public Task<SandboxInfo> GetAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var record = FindRecord(idOrName);
        return Task.FromResult(Describe(record, running: _live.ContainsKey(record.Id)));
    }

    /// <summary>
    /// The id of the running sandbox that <paramref name="idOrName"/> names, or the argument itself when
    /// none does; from memory, cheap enough for every request that a per-sandbox limit counts.
    /// </summary>
    public string LiveIdOf(string idOrName)
    {
        if (_live.ContainsKey(idOrName))
        {
            return idOrName;
        }
        foreach (var live in _live.Values)
        {
            if (live.Record.Name == idOrName && live.Record.State != SandboxStates.Pooled)
            {
                return live.Record.Id;
            }
        }
        return idOrName;
    }

    public Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<SandboxInfo>>(_registry.ListLive().Select(r => Describe(r, running: _live.ContainsKey(r.Id))).ToList());

    public async Task DeleteAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default)
    {
        var record = _registry.Find(idOrName) ?? throw HutchException.NotFound(idOrName);
        if (record.State == SandboxStates.Deleted)
        {
            return;
        }
        await DeleteOnceAsync(record, keepWorkspace).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One deletion per sandbox at a time: a second caller (a retry, the TTL reaper, a parallel
    /// request) waits for the first's outcome instead of racing it over the same container, cgroups
    /// and files. It runs to the end even when a caller stops waiting, so nothing is left half removed.
    /// </summary>
    private Task DeleteOnceAsync(SandboxRecord record, bool keepWorkspace) =>
        _deletions.GetOrAdd(record.Id, id => new Lazy<Task>(() => Task.Run(async () =>
        {
            try
            {
                // A caller that read the row just before another deletion finished finds it done.
                if (_registry.Find(record.Id) is { State: not SandboxStates.Deleted })
                {
                    await DeleteRecordAsync(record, keepWorkspace, CancellationToken.None).ConfigureAwait(false);
                }
            }
            finally
            {
                _deletions.TryRemove(id, out _);
            }
        }))).Value;

    private async Task DeleteRecordAsync(SandboxRecord record, bool keepWorkspace, CancellationToken cancellationToken)
    {
        await RemoveEverythingAsync(record, keepWorkspace, cancellationToken).ConfigureAwait(false);
        _registry.MarkDeleted(record.Id, _time.GetUtcNow());
        Log.Deleted(_log, record.Id, keepWorkspace);
    }

    public async Task KeepAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var record = FindRecord(idOrName);
        _registry.SetOwner(record.Id, "daemon");
        if (_live.TryRemove(record.Id, out var live))
        {
            live.Deleting = true; // its channel closing now is a hand-over, not a loss
            await live.Connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<LiveSandbox> StartAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        var uid = record.SandboxUid;
        var sandboxDir = _paths.SandboxDir(record.Id);
        Directory.CreateDirectory(sandboxDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var workspace = record.HostWorkspace ?? _paths.Workspace(record.Id);
        if (record.HostWorkspace is null)
        {
            CreateWorkspace(record);
        }
        // The workspace belongs to the sandbox's user as the host sees it (its uid shifted into the sandbox's range).
        Chown(workspace, record.HostIdBase + uid);
        EnsureCwd(record, workspace);

        var limits = record.Limits;
        var spec = new SandboxSpec(record.Id, _paths.Rootfs, _paths.Etc, _paths.AgentBinary, workspace, record.HostIdBase, uid,
            limits.MemoryMiB!.Value << 20, limits.Pids!.Value, limits.Cpus!.Value, limits.TmpMiB!.Value << 20, BlockIoOf(limits));
        await PrivateFiles.WriteAllTextAsync(Path.Join(sandboxDir, "config.json"), OciSpecBuilder.Build(spec).ToJsonString(), cancellationToken).ConfigureAwait(false);
        PrivateFiles.OpenWrite(_paths.AgentLog(record.Id), append: true).Dispose(); // 0600 before the runtime appends to it

        var socketPath = _paths.AgentSocket(record.Id);
        File.Delete(socketPath);
        var recordsDir = _paths.Records(record.Id);
        Directory.CreateDirectory(recordsDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Chown(recordsDir, record.HostUid);
        using (var listener = Hutch.Linux.UnixListener.Listen(socketPath, backlog: 16))
        using (var records = Hutch.Linux.Beneath.OpenRoot(recordsDir))
        {
            File.SetUnixFileMode(socketPath, PrivateFiles.FileMode);
            await _runtime.RunDetachedAsync(record.Id, sandboxDir, listener, records, _paths.AgentLog(record.Id)).ConfigureAwait(false);
        }
        // Before any command runs: the sandbox's own share of the counters charged to the host's root.
        // Not cut short by an engine that stops (bounded by its own budget), like the runtime's start.
        await KernelShares.ApplyAsync(_runtime.InitPid(record.Id) ?? throw new IOException($"the runtime has no init pid for sandbox {record.Id}"),
            CancellationToken.None).ConfigureAwait(false);
        return await ConnectAsync(record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the default working directory when it is a subdirectory that does not exist yet, owned
    /// by the sandbox's user and never through a symlink (an adopted workspace may hold anything).
    /// </summary>
    private static void EnsureCwd(SandboxRecord record, string workspace)
    {
        if (record.Cwd != WorkspaceCwd.Root)
        {
            using var files = new Hutch.Files.Workspace(workspace, record.HostUid, record.HostUid);
            files.MakeDirectory(record.Cwd, parents: true);
        }
    }

    /// <summary>Connects to a running sandbox's agent and proves it answers; registers it as live.</summary>
    private async Task<LiveSandbox> ConnectAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AgentReadyTimeout);
        AgentConnection? connection = null;
        try
        {
            connection = await AgentConnection.ConnectAsync(_paths.AgentSocket(record.Id), timeout.Token).ConfigureAwait(false);
            await connection.PingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            throw new TimeoutException($"the agent of sandbox {record.Id} did not answer within {AgentReadyTimeout.TotalSeconds} s; its log: {Tail(_paths.AgentLog(record.Id))}");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or AgentException)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            // What the init printed (runc's own error when it could not exec the agent) is the useful part.
            throw new IOException($"the agent of sandbox {record.Id} did not answer ({e.Message}); its log: {Tail(_paths.AgentLog(record.Id))}", e);
        }
        var live = new LiveSandbox(record, connection);
        _live[record.Id] = live;
        _ = WatchAsync(live);
        return live;
    }

    /// <summary>The ways reaching a sandbox's agent fails when the agent is gone (adoption, first use, pool).</summary>
    private static bool IsAgentUnreachable(Exception e) =>
        e is IOException or System.Net.Sockets.SocketException or TimeoutException or AgentException;

    /// <summary>When a sandbox's control channel ends without a delete, its init is gone: mark it lost.</summary>
    private async Task WatchAsync(LiveSandbox live)
    {
        await live.Connection.Completion.ConfigureAwait(false);
        if (!live.Deleting && !_stopping.IsCancellationRequested && _live.TryRemove(new(live.Record.Id, live)))
        {
            Log.Lost(_log, live.Record.Id);
            if (live.Record.State == SandboxStates.Pooled)
            {
                // Never anyone's: clean it up instead of showing a lost sandbox nobody created.
                await DeleteRecordAsync(live.Record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            _registry.SetState(live.Record.Id, SandboxStates.Lost);
        }
    }

    /// <summary>Kills every process, removes container state and cgroups, the bundle, and the workspace unless kept.</summary>
    private async Task RemoveEverythingAsync(SandboxRecord record, bool keepWorkspace, CancellationToken cancellationToken)
    {
        await AbandonServicesAsync(record.Id).ConfigureAwait(false);
        if (_live.TryRemove(record.Id, out var live))
        {
            live.Deleting = true;
            await live.Connection.DisposeAsync().ConfigureAwait(false);
        }
        await _runtime.DeleteAsync(record.Id, SandboxSpec.CgroupPathOf(record.Id), cancellationToken).ConfigureAwait(false);
        DeleteTree(_paths.SandboxDir(record.Id));
        if (record.HostWorkspace is not null)
        {
            // A caller's directory is never deleted; it goes back to the host's root, which lent it.
            Chown(record.HostWorkspace, 0);
        }
        else if (!keepWorkspace)
        {
            DeleteTree(_paths.Volume(record.Id));
        }
        // Removing the last entry of a quota directory deletes its subvolume; the kernel drops the
        // subvolume, and its qgroup with it, in the background (at the next commit, within 30 s). A
        // kept workspace keeps its quota.
        CheckpointStore.DeleteStore(_paths.Checkpoints(record.Id));
        RemoveStaging(record.Id);
    }

    private SandboxInfo Describe(SandboxRecord record, bool running)
    {
        SandboxUsage? usage = null;
        if (running && _cgroups.Read(SandboxSpec.CgroupPathOf(record.Id)) is { } u)
        {
            var disk = record.HostWorkspace is null ? _volume.Quotas?.Usage(_paths.Volume(record.Id)) : null;
            var checkpoints = _volume.Quotas?.Usage(_paths.Checkpoints(record.Id));
            usage = new SandboxUsage(u.MemoryBytes, u.MemoryPeakBytes, u.Pids, u.CpuTimeMs, u.OomKills,
                disk?.Bytes, disk?.LimitBytes, checkpoints?.Bytes);
        }
        return new SandboxInfo(record.Id, record.Name, record.State, record.CreatedAt, record.ExpiresAtFrom(_time.GetUtcNow()), record.User, record.Cwd, record.Limits, usage);
    }

    private void PrepareDataDir()
    {
        Directory.CreateDirectory(_paths.DataDir);
        File.SetUnixFileMode(_paths.DataDir, PrivateFiles.TraverseOnlyMode);
        // Before anything is put in it: an empty workspaces dir may get an XFS volume with reflinks.
        _volume = WorkspaceVolume.Ensure(_paths.Workspaces, new WorkspaceVolumeOptions { Mode = _options.WorkspaceVolume });
        _blockIo = BlockIoSupport.Detect(_volume.BlockDevice);
        _hostLimits = new HostLimits(
            _volume.Quotas is not null, _options.DefaultDiskMiB, _volume.QuotaDescription,
            _blockIo.Weight && _blockIo.Device is not null, _options.DefaultIoWeight, _blockIo.Description,
            _blockIo.Throttle && _blockIo.Device is not null, _blockIo.Description);
        foreach (var dir in new[] { _paths.Sandboxes, _paths.Workspaces, Path.GetDirectoryName(_paths.AgentBinary)! })
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, PrivateFiles.TraverseOnlyMode);
        }
        Directory.CreateDirectory(_paths.RuntimeState, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        RootfsLayout.Ensure(_paths.Rootfs, _paths.Etc);
        InstallAgent();
        EnsureHostLimits();
    }

    /// <summary>The daemon's oom_score_adj: below every sandbox's floor, so the host's OOM killer takes sandboxes first.</summary>
    public const int DaemonOomScoreAdj = -900;

    /// <summary>
    /// Lowering it takes CAP_SYS_RESOURCE, which a daemon run inside a container may lack: then the
    /// daemon stays at 0, its sandboxes' floor, and their commands (1000) are still picked first.
    /// </summary>
    private void ProtectFromOomKiller()
    {
        if (!Hutch.Linux.Processes.SetOomScoreAdj(0, DaemonOomScoreAdj))
        {
            Log.OomProtectionUnavailable(_log, DaemonOomScoreAdj);
        }
    }

    /// <summary>The host settings every sandbox's share of a kernel counter relies on (fail closed: no start without them).</summary>
    private void EnsureHostLimits()
    {
        try
        {
            foreach (var raised in HostKernelLimits.Ensure(_options.SandboxCapacity))
            {
                Log.HostLimitRaised(_log, raised.Name, raised.Required, _options.SandboxCapacity);
            }
        }
        catch (IOException e)
        {
            throw new HutchException(ErrorCodes.RuntimeUnavailable, 503, e.Message, e);
        }
    }

    /// <summary>
    /// Copies the agent binary into the data dir, so every sandbox mounts one stable file that the
    /// runtime can reach whatever the build tree's permissions, and a rebuild never changes a running sandbox's init.
    /// </summary>
    private void InstallAgent()
    {
        var source = new FileInfo(_options.AgentPath);
        if (!source.Exists)
        {
            throw new HutchException(ErrorCodes.RuntimeUnavailable, 503,
                $"The sandbox agent binary is missing at {_options.AgentPath}. Build it with ./hutch (or set HUTCH_AGENT to its path).");
        }
        var target = new FileInfo(_paths.AgentBinary);
        if (target.Exists && target.Length == source.Length && target.LastWriteTimeUtc == source.LastWriteTimeUtc)
        {
            return;
        }
        var temp = target.FullName + $".{Environment.ProcessId}.tmp";
        File.Copy(source.FullName, temp, overwrite: true);
        File.SetLastWriteTimeUtc(temp, source.LastWriteTimeUtc);
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.Move(temp, target.FullName, overwrite: true);
    }

    private static string NewId()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
        Span<char> id = stackalloc char[10];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }
        return "sb-" + new string(id);
    }

    private static void Chown(string path, int id) => Hutch.Linux.FileOwner.Change(path, id, id);

    /// <summary>Deletes a directory of the data dir whatever a sandbox built in it (any depth, never through a symlink).</summary>
    private static void DeleteTree(string path) => Hutch.Linux.TreeRemover.Delete(path);

    private static string Tail(string file)
    {
        try
        {
            var text = File.ReadAllText(file).Trim();
            return text.Length == 0 ? "(empty)" : text.Length > 2000 ? text[^2000..] : text;
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await DrainPoolAsync().ConfigureAwait(false);
        if (_owner.StartsWith("run:", StringComparison.Ordinal))
        {
            // An in-process engine leaves nothing behind it.
            foreach (var live in _live.Values.ToList())
            {
                await DeleteAsync(live.Record.Id, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
        }
        foreach (var live in _live.Values)
        {
            live.Deleting = true;
            await live.Connection.DisposeAsync().ConfigureAwait(false);
        }
        _live.Clear();
        _stopping.Dispose();
    }
}
