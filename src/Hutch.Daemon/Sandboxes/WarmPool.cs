using System.Collections.Concurrent;
using Hutch.Daemon.Registry;
using Hutch.Daemon.Templates;
using Hutch.Runtime.Oci;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// The warm pool: a few sandboxes started ahead of demand with the default limits and user, so a
/// create that asks for nothing special is a registry update (milliseconds) instead of a runtime
/// start (tens of milliseconds). What differs between sandboxes of one shape — name, env, cwd,
/// TTL — lives in the registry and in each exec, so a pooled sandbox can become anyone's. Pooled
/// sandboxes are invisible to the API, survive a daemon crash (the next daemon adopts them back
/// into its pool), and are deleted when a daemon stops cleanly. One shelf per root: the host's
/// (HUTCH_WARM_POOL), and each template version the operator names (HUTCH_WARM_POOL_TEMPLATES).
/// A template's sandbox is shelved only once it is ready (<see cref="IPoolPreparation"/>: its start
/// command up and its probe passed), so claiming it runs nothing; one whose preparation fails is
/// deleted, and that shelf's filler waits (1 s, doubling up to 5 min) before it tries again.
/// </summary>
public sealed class WarmPool
{
    private readonly Dictionary<string, Shelf> _shelves = new(StringComparer.Ordinal);
    private readonly SandboxDirectory _directory;
    private readonly SandboxRunner _runner;
    private readonly SandboxStorage _storage;
    private readonly TemplateRoots _templates;
    private readonly List<IPoolPreparation> _preparations = [];
    private readonly HutchOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationToken _stopping;

    /// <summary>The host root's shelf key; a template's is its "NAME:VERSION".</summary>
    private const string HostRoot = "";

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    /// <summary>The sandboxes of one root kept ready, whether a filler runs for them, and when it may after a failure.</summary>
    private sealed class Shelf(string? template, int target)
    {
        public string? Template { get; } = template;
        public int Target { get; } = target;
        public ConcurrentQueue<LiveSandbox> Ready { get; } = new();
        public int Filling;
        public int Failures;
        public TimeSpan Backoff;
        public long RetryAt; // UTC ticks
    }

    /// <param name="target">How many host-root sandboxes to keep ready.</param>
    /// <param name="templates">How many to keep ready of each template version ("NAME:VERSION" → count).</param>
    public WarmPool(int target, IReadOnlyDictionary<string, int> templates, SandboxDirectory directory, SandboxRunner runner, SandboxStorage storage,
        TemplateRoots templateRoots, HutchOptions options, TimeProvider time, ILogger log, CancellationToken stopping)
    {
        (_directory, _runner, _storage, _templates, _options, _time, _log, _stopping) = (directory, runner, storage, templateRoots, options, time, log, stopping);
        _shelves[HostRoot] = new Shelf(null, target);
        foreach (var (template, count) in templates)
        {
            _shelves[template] = new Shelf(template, count);
        }
    }

    /// <summary>A feature's part of a create done ahead on template sandboxes (their start command); register before the first fill.</summary>
    public void Prepare(IPoolPreparation preparation) => _preparations.Add(preparation);

    /// <summary>Pooled sandboxes ready to be claimed now, of every root.</summary>
    public int Ready => _shelves.Values.Sum(shelf => shelf.Ready.Count);

    /// <summary>Pooled sandboxes of one root ready now (<paramref name="template"/>: "NAME:VERSION", or null for the host's).</summary>
    public int ReadyOf(string? template) => _shelves.TryGetValue(template ?? HostRoot, out var shelf) ? shelf.Ready.Count : 0;

    /// <summary>How many pooled sandboxes of one root failed to start or to become ready since this daemon started.</summary>
    public int FailuresOf(string? template) => _shelves.TryGetValue(template ?? HostRoot, out var shelf) ? Volatile.Read(ref shelf.Failures) : 0;

    /// <summary>
    /// Whether a create asks for what a pooled sandbox already is (<paramref name="template"/>: its
    /// resolved "NAME:VERSION", or null): the default user and limits, and for a template, nothing
    /// that what was prepared ahead (its start command) would have had to see.
    /// </summary>
    /// <remarks>Bundles under /bundles fit (they are mounted into the claimed sandbox by propagation); one at a path of its own does not.</remarks>
    public bool Fits(CreateSandboxRequest request, string? hostWorkspace, string? template) =>
        _shelves.TryGetValue(template ?? HostRoot, out var shelf) && shelf.Target > 0 && hostWorkspace is null && request.User is null or "user"
        && SandboxLifecycle.OwnMountPoints(request) is null
        && RequestValidator.Limits(request.Limits, _storage.HostLimits) == RequestValidator.Limits(null, _storage.HostLimits)
        && (template is null || _preparations.TrueForAll(p => p.Fits(request, template)));

    /// <summary>
    /// Makes a pooled sandbox the caller's (name, env, cwd and TTL in its row), or null when none is
    /// ready. A refused claim (name taken, limit reached) puts it back for the next caller.
    /// </summary>
    public SandboxRecord? TryClaim(string? template, string? name, Dictionary<string, string> env, Dictionary<string, string> labels, string cwd, DateTimeOffset now, long? ttl)
    {
        var shelf = _shelves[template ?? HostRoot];
        if (Take(shelf) is not { } pooled)
        {
            Refill(shelf); // empty: maybe a filler stopped (a template imported after the daemon started)
            return null;
        }
        SandboxRecord record;
        try
        {
            record = _directory.Registry.Claim(pooled.Record, name, env, labels, cwd, now, ttl is { } t ? now.AddSeconds(t) : null, ttl is { } d ? TtlDeadline.After(d) : null, _options.MaxSandboxes);
        }
        catch (HutchException)
        {
            shelf.Ready.Enqueue(pooled);
            throw;
        }
        pooled.Record = record;
        SandboxRunner.EnsureCwd(record, _storage.WorkspaceOf(record));
        Refill(shelf);
        return record;
    }

    private LiveSandbox? Take(Shelf shelf)
    {
        while (shelf.Ready.TryDequeue(out var live))
        {
            if (!live.Connection.IsOpen)
            {
                continue; // its loss deletes it (SandboxDirectory.PooledLost)
            }
            if (shelf.Template is null || IsStillPrepared(live.Record))
            {
                return live;
            }
            // Prepared once, not any more (its start command died on the shelf): never handed out.
            Interlocked.Increment(ref shelf.Failures);
            Log.PoolSandboxUnready(_log, live.Record.Id, shelf.Template);
            var (runner, doomed) = (_runner, live.Record);
            _ = Task.Run(() => runner.DestroyAsync(doomed, keepWorkspace: false, CancellationToken.None));
        }
        return null;
    }

    private bool IsStillPrepared(SandboxRecord pooled)
    {
        using (SandboxDirectory.PoolWork())
        {
            return _preparations.TrueForAll(p => p.IsPrepared(pooled));
        }
    }

    /// <summary>Starts sandboxes in the background until every shelf is full; one filler per shelf at a time.</summary>
    public void Refill()
    {
        foreach (var shelf in _shelves.Values)
        {
            Refill(shelf);
        }
    }

    private void Refill(Shelf shelf)
    {
        var (directory, runner, storage, time, log, stopping) = (_directory, _runner, _storage, _time, _log, _stopping);
        if (shelf.Target == 0 || stopping.IsCancellationRequested || time.GetUtcNow().UtcTicks < Volatile.Read(ref shelf.RetryAt)
            || Interlocked.Exchange(ref shelf.Filling, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            var failed = false;
            try
            {
                while (!stopping.IsCancellationRequested && shelf.Ready.Count < shelf.Target)
                {
                    // A template's sandbox has its environment from the start: its start command runs with it.
                    // A version not imported yet is no failure: its first create refills the shelf.
                    var env = new Dictionary<string, string>(StringComparer.Ordinal);
                    if (shelf.Template is not null)
                    {
                        if (TemplateOf(shelf.Template) is not { } template)
                        {
                            failed = true; // stop: no refill right after this one
                            return;
                        }
                        env = new Dictionary<string, string>(template.Manifest.Env, StringComparer.Ordinal);
                    }
                    var record = directory.Registry.Insert(new SandboxRecord(
                        SandboxIds.New(), null, SandboxStates.Pooled, time.GetUtcNow(), null, "user", WorkspaceCwd.Root, env,
                        RequestValidator.Limits(null, storage.HostLimits), 0, null, directory.Owner, Template: shelf.Template),
                        SandboxIds.FirstHostId, SandboxSpec.IdRangeSize, maxLive: null);
                    try
                    {
                        var live = await runner.StartAsync(record, stopping).ConfigureAwait(false);
                        if (shelf.Template is not null)
                        {
                            await PrepareAsync(record, stopping).ConfigureAwait(false);
                        }
                        shelf.Ready.Enqueue(live);
                        shelf.Backoff = TimeSpan.Zero;
                    }
                    catch (Exception e)
                    {
                        // A broken runtime or start command must not make the filler spin: it waits,
                        // longer after each failure in a row, and then refills at the next claim.
                        // (A start cut short by the engine stopping is no failure worth a warning.)
                        failed = true;
                        var counts = !stopping.IsCancellationRequested;
                        if (counts)
                        {
                            shelf.Backoff = shelf.Backoff == TimeSpan.Zero ? FirstBackoff : TimeSpan.FromTicks(Math.Min(shelf.Backoff.Ticks * 2, MaxBackoff.Ticks));
                            Volatile.Write(ref shelf.RetryAt, (time.GetUtcNow() + shelf.Backoff).UtcTicks);
                            Log.PoolFillFailed(log, record.Id, shelf.Template ?? "the host's root", shelf.Backoff.TotalSeconds, e);
                        }
                        await runner.DestroyAsync(record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
                        if (counts)
                        {
                            Interlocked.Increment(ref shelf.Failures); // counted once it is gone
                        }
                        return;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                // Engine stopping.
            }
            finally
            {
                Volatile.Write(ref shelf.Filling, 0);
            }
            if (!failed && shelf.Ready.Count < shelf.Target)
            {
                Refill(shelf); // a claim raced with the end of the loop
            }
        });
    }

    /// <summary>The version a template's shelf is for, or null while it is not imported (or deleted).</summary>
    private TemplateRecord? TemplateOf(string reference)
    {
        try
        {
            return _templates.Resolve(reference);
        }
        catch (HutchException e) when (e.Code == ErrorCodes.TemplateNotFound)
        {
            return null;
        }
    }

    /// <summary>Every preparation of a template's pooled sandbox, as the pool's own work (<see cref="SandboxDirectory.PoolWork"/>).</summary>
    private async Task PrepareAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        using (SandboxDirectory.PoolWork())
        {
            foreach (var preparation in _preparations)
            {
                await preparation.PrepareAsync(record, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Re-adopts a previous daemon's pooled sandboxes into this pool (or deletes the dead ones and
    /// those it keeps no shelf for). Returns the ones it kept: their features must adopt them too
    /// (a template's start command is a service to supervise again), inside <see cref="SandboxDirectory.PoolWork"/>.
    /// </summary>
    public async Task<IReadOnlyList<SandboxRecord>> AdoptAsync(CancellationToken cancellationToken)
    {
        var kept = new List<SandboxRecord>();
        foreach (var record in _directory.Registry.ListPooled())
        {
            try
            {
                var live = await _directory.ConnectAsync(record, cancellationToken).ConfigureAwait(false);
                // Onto its root's shelf, if this daemon keeps one for it and it is not full.
                if (_shelves.TryGetValue(record.Template ?? HostRoot, out var shelf) && shelf.Ready.Count < shelf.Target)
                {
                    shelf.Ready.Enqueue(live);
                    kept.Add(record);
                    continue;
                }
            }
            catch (Exception e) when (SandboxDirectory.IsAgentUnreachable(e))
            {
                // Dead: removed below.
            }
            await _runner.DestroyAsync(record, keepWorkspace: false, cancellationToken).ConfigureAwait(false);
        }
        return kept;
    }

    /// <summary>Deletes every pooled sandbox (a clean stop): they are cheap to start again.</summary>
    public async Task DrainAsync()
    {
        // Wait for a filler in flight, so no sandbox it is starting escapes the drain.
        foreach (var shelf in _shelves.Values)
        {
            for (var i = 0; i < 200 && Volatile.Read(ref shelf.Filling) == 1; i++)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
            while (shelf.Ready.TryDequeue(out var live))
            {
                await _runner.DestroyAsync(live.Record, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
