using Hutch.Files.Checkpoints;

namespace Hutch.Daemon;

/// <summary>Settings of a Hutch daemon or in-process engine. Every default is documented in docs/configuration.md.</summary>
public sealed record HutchOptions
{
    /// <summary>Where the registry, bundles, workspaces and the API key live. Env HUTCH_DATA_DIR. Default /var/lib/hutch.</summary>
    public string DataDir { get; init; } = Environment.GetEnvironmentVariable("HUTCH_DATA_DIR") is { Length: > 0 } d ? d : "/var/lib/hutch";

    /// <summary>HTTP listen address (loopback by default). Env HUTCH_URL.</summary>
    public string Url { get; init; } = Environment.GetEnvironmentVariable("HUTCH_URL") is { Length: > 0 } u ? u : "http://127.0.0.1:7311";

    /// <summary>OCI runtime binary (runc by default; crun/runsc are drop-in). Env HUTCH_RUNTIME.</summary>
    public string Runtime { get; init; } = Environment.GetEnvironmentVariable("HUTCH_RUNTIME") is { Length: > 0 } r ? r : "runc";

    /// <summary>The NativeAOT agent binary put into every sandbox as its init. Env HUTCH_AGENT. Default: hutch-agent beside this program.</summary>
    public string AgentPath { get; init; } = Environment.GetEnvironmentVariable("HUTCH_AGENT") is { Length: > 0 } a ? a : Path.Join(AppContext.BaseDirectory, "hutch-agent");

    /// <summary>
    /// Sandboxes a daemon keeps started ahead of demand, so a create with default limits and user
    /// answers in milliseconds instead of waiting for the runtime. Env HUTCH_WARM_POOL. Default 2 (0 disables).
    /// In-process engines (`hutch run`) never pool.
    /// </summary>
    public int WarmPool { get; init; } = int.TryParse(Environment.GetEnvironmentVariable("HUTCH_WARM_POOL"), out var n) && n >= 0 ? n : 2;

    /// <summary>
    /// Sandboxes a daemon keeps ready per template version, "NAME:VERSION=N" comma-separated (a version
    /// never changes, so what is pooled stays right; a pooled version counts as in use and cannot be
    /// deleted). Env HUTCH_WARM_POOL_TEMPLATES. Default none. A malformed entry stops the daemon at start.
    /// </summary>
    public IReadOnlyDictionary<string, int> WarmPoolTemplates { get; init; } = ParseTemplatePools(Environment.GetEnvironmentVariable("HUTCH_WARM_POOL_TEMPLATES"));

    /// <summary>"NAME:VERSION=N,…" → NAME:VERSION → N (0-64).</summary>
    public static IReadOnlyDictionary<string, int> ParseTemplatePools(string? text)
    {
        var pools = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = entry.LastIndexOf('=');
            var reference = equals > 0 ? entry[..equals] : "";
            if (equals < 0 || !reference.Contains(':', StringComparison.Ordinal)
                || !int.TryParse(entry[(equals + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) || count > 64)
            {
                throw new ArgumentException($"HUTCH_WARM_POOL_TEMPLATES: '{entry}' is not NAME:VERSION=N (N 0-64), as in python:3=2,debian:bookworm=1");
            }
            pools[reference] = count;
        }
        return pools;
    }

    /// <summary>The largest file an upload, write or import member may be. Env HUTCH_MAX_FILE_BYTES. Default 16 GiB.</summary>
    public long MaxFileBytes { get; init; } = long.TryParse(Environment.GetEnvironmentVariable("HUTCH_MAX_FILE_BYTES"), out var m) && m > 0 ? m : 16L << 30;

    /// <summary>
    /// Auto: when the data dir's file system has no reflinks, workspaces get an XFS loop volume that
    /// has them (cheap checkpoints); Off: never mount anything (checkpoints are copies). Env HUTCH_WORKSPACE_VOLUME=auto|off.
    /// </summary>
    public WorkspaceVolumeMode WorkspaceVolume { get; init; } =
        string.Equals(Environment.GetEnvironmentVariable("HUTCH_WORKSPACE_VOLUME"), "off", StringComparison.OrdinalIgnoreCase) ? WorkspaceVolumeMode.Off : WorkspaceVolumeMode.Auto;

    /// <summary>
    /// The most sandboxes callers may have at once (lost ones count, the warm pool's do not); a create
    /// past it is 409 too_many_sandboxes. The host's shared kernel limits (inotify, ptys) are raised to hold
    /// the shares of these and the pool's, so none can starve another. Env HUTCH_MAX_SANDBOXES. Default 10,000.
    /// </summary>
    public int MaxSandboxes { get; init; } = int.TryParse(Environment.GetEnvironmentVariable("HUTCH_MAX_SANDBOXES"), out var s) && s > 0 ? s : 10_000;

    /// <summary>Every sandbox the host may hold at once: callers' (at most <see cref="MaxSandboxes"/>, then 409 too_many_sandboxes) and the warm pool's.</summary>
    public int SandboxCapacity => MaxSandboxes + WarmPool + WarmPoolTemplates.Values.Sum();

    /// <summary>
    /// The disk quota of a sandbox that asks for none: its workspace, and separately its checkpoints,
    /// may each hold this many MiB. Env HUTCH_DEFAULT_DISK_MIB. Default 10240 (10 GiB). Enforced only
    /// where the workspace volume has quotas (`hutch doctor`).
    /// </summary>
    public long DefaultDiskMiB { get; init; } = long.TryParse(Environment.GetEnvironmentVariable("HUTCH_DEFAULT_DISK_MIB"), out var disk) && disk > 0 ? disk : 10240;

    /// <summary>
    /// The block I/O weight of a sandbox that asks for none (10-1000; the kernel's default is 100), so
    /// sandboxes share the workspace disk by weight. Env HUTCH_DEFAULT_IO_WEIGHT. Default 100.
    /// </summary>
    public int DefaultIoWeight { get; init; } = int.TryParse(Environment.GetEnvironmentVariable("HUTCH_DEFAULT_IO_WEIGHT"), out var weight) && weight is >= 10 and <= 1000 ? weight : 100;

    /// <summary>
    /// Commands (exec, exec/stream, session exec) one API key may have running through the API at once,
    /// over all its sandboxes; more are answered 429 `rate_limited`. Env HUTCH_MAX_EXECS_PER_KEY. Default 128.
    /// </summary>
    public int MaxExecsPerKey { get; init; } = Positive("HUTCH_MAX_EXECS_PER_KEY", 128);

    /// <summary>
    /// Commands one sandbox may have running through the API at once, so that one sandbox's flood leaves
    /// the key's other sandboxes served. Env HUTCH_MAX_EXECS_PER_SANDBOX. Default 32.
    /// </summary>
    public int MaxExecsPerSandbox { get; init; } = Positive("HUTCH_MAX_EXECS_PER_SANDBOX", 32);

    /// <summary>
    /// Most bytes of one bundle push's tar, uncompressed (headers included); past it 413
    /// bundle_too_large and nothing is kept. Env HUTCH_BUNDLE_MAX_BYTES. Default 2 GiB.
    /// </summary>
    public long BundleMaxBytes { get; init; } = long.TryParse(Environment.GetEnvironmentVariable("HUTCH_BUNDLE_MAX_BYTES"), out var bundleBytes) && bundleBytes > 0 ? bundleBytes : 2L << 30;

    /// <summary>Most entries (files, directories, links) of one bundle push; past it 413 bundle_too_large. Env HUTCH_BUNDLE_MAX_ENTRIES. Default 100,000.</summary>
    public int BundleMaxEntries { get; init; } = Positive("HUTCH_BUNDLE_MAX_ENTRIES", 100_000);

    /// <summary>Sandbox creates one API key may have in flight at once. Env HUTCH_MAX_CREATES_PER_KEY. Default 8.</summary>
    public int MaxCreatesPerKey { get; init; } = Positive("HUTCH_MAX_CREATES_PER_KEY", 8);

    /// <summary>
    /// Terminal resizes per second per sandbox through `POST …/shells/{shell}/resize` (a burst of as many
    /// is allowed); WebSocket resizes are coalesced to this rate per attachment instead of refused. Env
    /// HUTCH_RESIZES_PER_SECOND. Default 20.
    /// </summary>
    public int ResizesPerSecond { get; init; } = Positive("HUTCH_RESIZES_PER_SECOND", 20);

    /// <summary>
    /// Internal networks a sandbox's policy may open with an allow entry <c>net:NAME</c>, as
    /// <c>NAME=CIDR[,CIDR];NAME2=…</c>: the operator opens a network, a sandbox asks for it. Env
    /// HUTCH_EGRESS_OPEN_NETWORKS. Default none. The host's own addresses stay refused in them.
    /// </summary>
    public string? EgressOpenNetworks { get; init; } = Environment.GetEnvironmentVariable("HUTCH_EGRESS_OPEN_NETWORKS") is { Length: > 0 } o ? o : null;

    /// <summary>
    /// Name overrides for the sandboxes' DNS and the egress proxy, in hosts-file format
    /// (<c>10.213.77.2 upstream.test</c>), read before the host's resolver; the addresses still pass
    /// the always-refused check. Env HUTCH_EGRESS_HOSTS_FILE. Default none.
    /// </summary>
    public string? EgressHostsFile { get; init; } = Environment.GetEnvironmentVariable("HUTCH_EGRESS_HOSTS_FILE") is { Length: > 0 } h ? h : null;

    /// <summary>
    /// More CAs (a PEM file) the daemon trusts, besides the host's store, when it opens TLS to a
    /// secret's host to put the secret in (docs/secrets.md): an operator's private CA. Env
    /// HUTCH_EGRESS_CA_FILE. Default none.
    /// </summary>
    public string? EgressCaFile { get; init; } = Environment.GetEnvironmentVariable("HUTCH_EGRESS_CA_FILE") is { Length: > 0 } c ? c : null;

    /// <summary>
    /// Where the <c>package-registries</c> preset reads apt, pip and npm configuration: a directory
    /// standing for the host's <c>/</c> (<c>etc/apt/sources.list.d</c>, <c>etc/pip.conf</c>,
    /// <c>etc/npmrc</c>…). Env HUTCH_EGRESS_REGISTRY_CONFIG_ROOT. Default <c>/</c>, the host's own,
    /// which is also the only root where pip and npm are asked for their built-in defaults.
    /// </summary>
    public string EgressRegistryConfigRoot { get; init; } = Environment.GetEnvironmentVariable("HUTCH_EGRESS_REGISTRY_CONFIG_ROOT") is { Length: > 0 } r ? r : "/";

    /// <summary>
    /// The key that encrypts secret values at rest: an operator's file (base64 of 32 bytes, root's alone),
    /// or by default <c>secrets.key</c> in the data dir, made on the first secret. Env HUTCH_SECRETS_KEY_FILE.
    /// </summary>
    public string? SecretsKeyFile { get; init; } = Environment.GetEnvironmentVariable("HUTCH_SECRETS_KEY_FILE") is { Length: > 0 } k ? k : null;

    /// <summary>
    /// Where artifacts are kept: null for the local store in the data dir (<c>artifacts/</c>), or an
    /// S3-compatible bucket. Env HUTCH_ARTIFACT_S3_BUCKET (set: S3), HUTCH_ARTIFACT_S3_ENDPOINT (default
    /// AWS), HUTCH_ARTIFACT_S3_REGION (us-east-1), HUTCH_ARTIFACT_S3_PREFIX, HUTCH_ARTIFACT_S3_PATH_STYLE
    /// (true), and the credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (else the SDK's chain).
    /// </summary>
    public Hutch.Artifacts.S3StoreOptions? ArtifactS3 { get; init; } = Environment.GetEnvironmentVariable("HUTCH_ARTIFACT_S3_BUCKET") is { Length: > 0 } bucket
        ? new Hutch.Artifacts.S3StoreOptions(bucket,
            Environment.GetEnvironmentVariable("HUTCH_ARTIFACT_S3_ENDPOINT") is { Length: > 0 } e ? e : null,
            Environment.GetEnvironmentVariable("HUTCH_ARTIFACT_S3_REGION") is { Length: > 0 } region ? region : "us-east-1",
            Environment.GetEnvironmentVariable("HUTCH_ARTIFACT_S3_PREFIX") ?? "",
            Environment.GetEnvironmentVariable("HUTCH_ARTIFACT_S3_PATH_STYLE") is not ("false" or "0"),
            Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is { Length: > 0 } access ? access : null,
            Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } secret ? secret : null)
        : null;

    /// <summary>How long an artifact's download link works, in seconds (1-604800). Env HUTCH_ARTIFACT_LINK_SECONDS. Default 3600.</summary>
    public int ArtifactLinkSeconds { get; init; } = Math.Min(Positive("HUTCH_ARTIFACT_LINK_SECONDS", 3600), 604_800);

    /// <summary>
    /// How often files the store did not take (pending) are tried again, in seconds (1-3600); a pass
    /// the store does not answer doubles the wait, up to six times this. Env HUTCH_ARTIFACT_RETRY_SECONDS. Default 10.
    /// </summary>
    public int ArtifactRetrySeconds { get; init; } = Math.Min(Positive("HUTCH_ARTIFACT_RETRY_SECONDS", 10), 3600);

    /// <summary>The most bytes one artifact may have; a larger file is not kept (artifact_too_large). Env HUTCH_ARTIFACT_MAX_BYTES. Default 8 GiB.</summary>
    public long ArtifactMaxBytes { get; init; } =
        long.TryParse(Environment.GetEnvironmentVariable("HUTCH_ARTIFACT_MAX_BYTES"), out var max) && max > 0 ? max : 8L << 30;

    public string ArtifactDir => Path.Join(DataDir, "artifacts");

    /// <summary>Where pending files wait for the store, by content (<c>artifacts-pending/</c>).</summary>
    public string ArtifactSpoolDir => Path.Join(DataDir, "artifacts-pending");
    public string ArtifactKeyFile => Path.Join(DataDir, "artifacts.key");

    public string ApiKeyFile => Path.Join(DataDir, "api-key");
    public string DaemonInfoFile => Path.Join(DataDir, "daemon.json");

    private static int Positive(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) && value > 0 ? value : fallback;
}
