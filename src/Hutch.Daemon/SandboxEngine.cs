using Hutch.Daemon.Artifacts;
using System.Runtime.CompilerServices;
using Hutch.Daemon.Exec;
using Hutch.Daemon.Files;
using Hutch.Daemon.Http;
using Hutch.Daemon.Network;
using Hutch.Daemon.Ports;
using Hutch.Daemon.Processes;
using Hutch.Daemon.Registry;
using Hutch.Daemon.Services;
using Hutch.Daemon.Sessions;
using Hutch.Daemon.Shells;
using Hutch.Files.Checkpoints;
using Hutch.Runtime;
using Hutch.Runtime.Cgroups;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

using Hutch.Daemon.Secrets;
using Hutch.Daemon.Templates;

namespace Hutch.Daemon;

/// <summary>
/// The features wired together over one data dir: what a daemon serves over HTTP (each feature's
/// endpoints get the service they translate), and, as <see cref="ISandboxEngine"/>, the thin facade
/// `hutch run` uses in-process when no daemon answers. It owns the object graph and its lifetime only.
/// </summary>
public sealed class SandboxEngine : ISandboxEngine
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Adoption _adoption;
    private readonly WarmPool _pool;
    private DataDirLock? _lock;
    private readonly ILogger _log;
    private int _disposed;

    private SandboxEngine(HutchOptions options, string owner, TimeProvider time, ILogger log)
    {
        _log = log;
        var paths = new SandboxPaths(options.DataDir);
        Storage = SandboxStorage.Prepare(options, paths);
        HostSetup.InstallAgent(options, paths);
        HostSetup.EnsureHostLimits(options, log);
        Runtime = new OciRuntime(options.Runtime, paths.RuntimeState);
        var stopping = _stopping.Token;

        Directory = new SandboxDirectory(new SandboxRegistry(paths.Database), paths, owner, log, stopping);
        Templates = new TemplateStore(paths.Database, time);
        TemplateRoots = new TemplateRoots(new TemplatePaths(paths.DataDir, paths.Volume), Templates);
        Layers = new Hutch.Runtime.Templates.LayerStore(TemplateRoots.Paths.Layers);
        TemplateImports = new TemplateImports(Templates, Layers);
        TemplatePruning = new TemplatePruning(Templates, Layers, time);
        var runner = new SandboxRunner(Directory, Storage, Runtime, TemplateRoots, time, log);
        _pool = new WarmPool(owner == "daemon" ? options.WarmPool : 0, owner == "daemon" ? options.WarmPoolTemplates : new Dictionary<string, int>(),
            Directory, runner, Storage, TemplateRoots, options, time, log, stopping);
        Directory.PooledLost = record => runner.DestroyAsync(record, keepWorkspace: false, CancellationToken.None);
        Sandboxes = new SandboxLifecycle(Directory, runner, _pool, Storage, Runtime, TemplateRoots, options, time, log);
        Events = new SandboxEvents(Directory, time);

        var spill = new OutputSpill(Directory, Storage);
        Network = new NetworkService(Directory, Runtime, options, log);
        Artifacts = new ArtifactService(new ArtifactRegistry(paths.Database), OpenArtifactStore(options),
            new ArtifactSpool(options.ArtifactSpoolDir, ArtifactKey(options), options.ArtifactMaxBytes), ArtifactKey(options), Directory, Storage, options, time, log);
        Exec = new ExecService(Directory, spill, new KeptOutputs(Directory, Storage), Network, Artifacts);
        TemplateBuilder = new Builds.TemplateBuilder(Templates, TemplateRoots, Layers, Sandboxes, Directory, Exec, log, Network);
        Processes = new ProcessManager(Directory, time);
        Logs = new LogReader(Directory, Processes, spill);
        Sessions = new SessionService(Directory, Processes, spill, Network, Artifacts);
        Processes.Ended = async (sandbox, ct) => await Artifacts.DetectAsync(sandbox, ct).ConfigureAwait(false);
        Shells = new ShellService(Directory, Processes);
        Ports = new PortService(Directory, Runtime);
        Services = new ServiceManager(Directory, Processes, Logs, new ServiceProbes(Exec, Ports), stopping);
        Files = new FileService(Directory, Storage, Runtime, options, Events, TemplateRoots);
        Secrets = new SecretStore(paths.Database,
            new SecretCipher(options.SecretsKeyFile ?? Path.Join(paths.DataDir, "secrets.key"), operatorKey: options.SecretsKeyFile is not null), time);

        var placeholders = new SandboxPlaceholders(Secrets, paths, time);
        Network.Secrets = placeholders;
        SandboxSecrets = new SandboxSecrets(Secrets, Directory, placeholders, log);
        Directory.Secrets = SandboxSecrets;
        runner.Observe(Services);
        runner.Observe(Network);
        runner.Observe(SandboxSecrets);
        Bundles = new Hutch.Daemon.Bundles.BundleService(new Hutch.Daemon.Bundles.BundleStore(paths.Database, time),
            new Hutch.Runtime.Bundles.BundleTrees(Path.Join(paths.DataDir, "bundles", "store")), Directory, options, log);
        Bundles.Start(daemon: owner == "daemon");
        runner.Observe(Bundles);
        Sandboxes.Add(Network);
        Sandboxes.Add(SandboxSecrets);
        // Before the start command: a session's files are back in the workspace when it runs.
        Sandboxes.Add(Artifacts);
        runner.Observe(Artifacts);
        // Before the start command too: it may read its bundles.
        Sandboxes.Add(Bundles);
        // Last: a template's start command runs with the sandbox's network and secrets in place.
        var templateStart = new TemplateStart(Templates, Services);
        Sandboxes.Add(templateStart);
        _pool.Prepare(templateStart); // a template's pooled sandboxes are shelved with their start command up
        _adoption = new Adoption(Directory, Sandboxes, _pool, Storage, Events, [Services, Network, Bundles, new AdoptedCommands(Processes, Events, log)], time, log);
    }

    public SandboxDirectory Directory { get; }
    public SandboxStorage Storage { get; }
    public OciRuntime Runtime { get; }
    public SandboxLifecycle Sandboxes { get; }
    public SandboxEvents Events { get; }
    public ExecService Exec { get; }
    public SecretStore Secrets { get; }

    /// <summary>Templates' versions, and the roots of sandboxes made from them.</summary>
    public TemplateStore Templates { get; }
    public TemplateRoots TemplateRoots { get; }
    public TemplateImports TemplateImports { get; }

    /// <summary>Removes build cache entries and the layers nothing uses.</summary>
    public TemplatePruning TemplatePruning { get; }

    /// <summary>Builds templates from Dockerfiles, in build sandboxes.</summary>
    public Builds.TemplateBuilder TemplateBuilder { get; }

    /// <summary>Templates' layers, content-addressed.</summary>
    public Hutch.Runtime.Templates.LayerStore Layers { get; }

    /// <summary>What sandboxes hold of the store: their uses, files and redaction.</summary>
    public SandboxSecrets SandboxSecrets { get; }

    /// <summary>Bundles: their versions on disk and in the registry, and sandboxes' mounts of them.</summary>
    public Hutch.Daemon.Bundles.BundleService Bundles { get; }
    public ProcessManager Processes { get; }
    public LogReader Logs { get; }
    public SessionService Sessions { get; }
    public ShellService Shells { get; }
    public ServiceManager Services { get; }
    public PortService Ports { get; }
    public FileService Files { get; }
    public NetworkService Network { get; }

    /// <summary>What sandboxes keep of their files (docs/artifacts.md).</summary>
    public ArtifactService Artifacts { get; }

    /// <summary>How long a starting daemon checks artifact sets before it leaves the rest to the retry.</summary>
    private static readonly TimeSpan ArtifactRecoveryLimit = TimeSpan.FromSeconds(10);

    /// <summary>The store artifacts go to: S3 when the operator named a bucket, else a directory in the data dir.</summary>
    private static Hutch.Artifacts.IArtifactStore OpenArtifactStore(HutchOptions options) => options.ArtifactS3 is { } s3
        ? new Hutch.Artifacts.S3ArtifactStore(s3, ArtifactKey(options)) { MaxBytes = options.ArtifactMaxBytes }
        : new Hutch.Artifacts.LocalArtifactStore(options.ArtifactDir, ArtifactKey(options)) { MaxBytes = options.ArtifactMaxBytes };

    /// <summary>The key artifact manifests and links are signed with: 32 random bytes made once, 0600 in the data dir.</summary>
    private static byte[] ArtifactKey(HutchOptions options)
    {
        PrivateFiles.CreateOnce(options.ArtifactKeyFile, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        return File.ReadAllBytes(options.ArtifactKeyFile);
    }

    /// <summary>Where workspaces live and whether checkpoints there are reflinks or copies.</summary>
    public WorkspaceVolume Volume => Storage.Volume;

    /// <summary>Which block I/O limits sandboxes can get on the workspace disk.</summary>
    public BlockIoSupport BlockIo => Storage.BlockIo;

    /// <summary>Pooled sandboxes ready to be claimed now.</summary>
    public int WarmPoolReady => _pool.Ready;

    /// <summary>The warm pool (its shelves per root: ready now, failures).</summary>
    public WarmPool WarmPool => _pool;

    /// <summary>The engine a daemon runs: adopts the sandboxes a previous daemon left running and expires TTLs.</summary>
    public static async Task<SandboxEngine> OpenDaemonAsync(HutchOptions options, ILogger? log = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        log ??= NullLogger.Instance;
        // Before anything reads or changes the data dir: a second daemon must leave the first one's sandboxes alone.
        var dataDirLock = DataDirLock.Acquire(options);
        SandboxEngine engine;
        try
        {
            engine = new SandboxEngine(options, "daemon", time ?? TimeProvider.System, log) { _lock = dataDirLock };
        }
        catch
        {
            dataDirLock.Dispose();
            throw;
        }
        HostSetup.ProtectFromOomKiller(log);
        // What an import a dead daemon was making left (only a daemon imports; `hutch run`s never do).
        engine.Layers.RemoveLeftovers();
        await engine._adoption.AdoptAsync(cancellationToken).ConfigureAwait(false);
        // Before commands run again: what a kill left half-written in the artifact store is made right
        // (bounded, so a store that does not answer leaves it to the retry and the daemon starts).
        await engine.Artifacts.RecoverAsync(ArtifactRecoveryLimit, cancellationToken).ConfigureAwait(false);
        engine.Artifacts.StartRetries(engine._stopping.Token);
        engine._adoption.StartExpiry(engine._stopping.Token);
        engine._pool.Refill();
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

    public Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace = null, CancellationToken cancellationToken = default) =>
        Sandboxes.CreateAsync(request, hostWorkspace, cancellationToken);

    public Task<SandboxInfo> GetAsync(string idOrName, CancellationToken cancellationToken = default) => Task.FromResult(Sandboxes.Get(idOrName));

    public Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken = default) => Task.FromResult(Sandboxes.List());

    /// <summary>Gives the sandbox a new TTL counted from now.</summary>
    public SandboxInfo SetTtl(string idOrName, long ttlSeconds) => Sandboxes.SetTtl(idOrName, ttlSeconds);

    public Task DeleteAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default) =>
        Sandboxes.DeleteAsync(idOrName, keepWorkspace, cancellationToken);

    public Task KeepAsync(string idOrName, CancellationToken cancellationToken = default) => Sandboxes.KeepAsync(idOrName);

    public async Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default)
    {
        using var collected = await Exec.CollectAsync(idOrName, request, lease: null, cancellationToken).ConfigureAwait(false);
        return WireEvents.ToResult(collected);
    }

    public async IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var e in Exec.StreamAsync(idOrName, request, lease: null, cancellationToken).ConfigureAwait(false))
        {
            yield return WireEvents.ToExecEvent(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _pool.DrainAsync().ConfigureAwait(false);
        if (Directory.Owner.StartsWith("run:", StringComparison.Ordinal))
        {
            // An in-process engine leaves nothing behind it.
            foreach (var live in Directory.Connected)
            {
                await Sandboxes.DeleteAsync(live.Record.Id, keepWorkspace: false, CancellationToken.None).ConfigureAwait(false);
            }
        }
        foreach (var live in Directory.Connected)
        {
            await Directory.DisconnectAsync(live.Record.Id).ConfigureAwait(false);
        }
        // The proxy's listeners close with the daemon: the sandboxes' connections are refused until
        // the next daemon adopts them and listens again.
        await Network.DisposeAsync().ConfigureAwait(false);
        if (Directory.Owner == "daemon")
        {
            // A daemon that stops leaves no mount behind it that nothing uses. (A `hutch run` keeps
            // it: mounting it again at each run would cost every run, and a daemon is the one that stops for good.)
            var known = Directory.Registry.ListLive().Count + Directory.Registry.ListPooled().Count;
            Bundles.Stop(known);
            if (Storage.ReleaseVolume(known) is { } why)
            {
                Log.VolumeKept(_log, Storage.Volume.Directory, why);
            }
        }
        _stopping.Dispose();
        _lock?.Dispose(); // last: the next daemon may start once this one has let go of everything

    }
}
