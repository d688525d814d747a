using System.Text.Json.Serialization;

namespace Hutch.Protocol.Api;

/// <summary>Body of <c>POST /v1/sandboxes</c>. Every member is optional.</summary>
/// <param name="Name">Caller-chosen name, unique on the host: 1-63 of [a-z0-9-], starting with a letter or digit.</param>
/// <param name="Env">Environment given to every command in the sandbox.</param>
/// <param name="Cwd">Default working directory, relative to /workspace or absolute inside it.</param>
/// <param name="Limits">Resource limits enforced by cgroups, tmpfs sizes and a disk quota; defaults apply to what is left out.</param>
/// <param name="TtlSeconds">Seconds until the sandbox is deleted by itself, 1-2592000 (30 days); leave it out for no TTL (0 is refused: invalid_ttl).</param>
/// <param name="User">"user" (uid 1000, the default) or "root" (uid 0 inside the sandbox, still without capabilities).</param>
/// <param name="Labels">
/// The caller's own key/value strings, returned as given and matched by <c>GET /v1/sandboxes?label=k=v</c>.
/// At most 32; a key is 1-63 of [A-Za-z0-9._/-] starting with a letter or digit; a value is 0-255
/// printable characters (no control characters).
/// </param>
/// <param name="Network">What the sandbox may reach (docs/network.md); left out: mode none, nothing leaves.</param>
/// <param name="Secrets">Stored secrets every command of the sandbox gets (docs/secrets.md); their values are redacted from everything Hutch hands out.</param>
/// <param name="Template">
/// The template its root is made from, "NAME" (its newest version) or "NAME:VERSION" (docs/templates.md):
/// the template's files read-only below, the sandbox's own changes above, root writable inside. Left
/// out: the host's root, read-only (only /workspace, /tmp and the home are writable).
/// </param>
/// <param name="Artifacts">Which workspace files to keep after every command, and a session key whose files come back in its next sandbox (docs/artifacts.md).</param>
/// <param name="Bundles">
/// Bundles mounted read-only (docs/bundles.md), each NAME@VERSION at a path (default /bundles/NAME).
/// At most 32, one per name and per path.
/// </param>
public sealed record CreateSandboxRequest(
    string? Name = null,
    Dictionary<string, string>? Env = null,
    string? Cwd = null,
    SandboxLimits? Limits = null,
    long? TtlSeconds = null,
    string? User = null,
    Dictionary<string, string>? Labels = null,
    NetworkPolicy? Network = null,
    SecretUse[]? Secrets = null,
    string? Template = null,
    ArtifactSpec? Artifacts = null,
    BundleMount[]? Bundles = null);

/// <summary>Body of <c>PATCH /v1/sandboxes/{id}</c>: what of a running sandbox can change.</summary>
/// <param name="TtlSeconds">A new TTL counted from now, 1-2592000 (30 days): extends, shortens or sets one on a sandbox that had none.</param>
/// <param name="Network">
/// A new network policy, replacing the old one whole: new connections see it at once, and open
/// connections it no longer allows are closed.
/// </param>
public sealed record UpdateSandboxRequest(long? TtlSeconds = null, NetworkPolicy? Network = null);

/// <param name="MemoryMiB">Memory (and swap) ceiling; the OOM killer ends a command past it. 16-65536, default 512.</param>
/// <param name="Pids">Most processes and threads at once. 16-32768, default 512.</param>
/// <param name="Cpus">CPU share as cores (0.05-64), default 1.</param>
/// <param name="TmpMiB">Size of the /tmp tmpfs (counted in memory). 1-16384, default 64.</param>
/// <param name="DiskMiB">
/// Most bytes the workspace may hold (data and metadata, so also the number of files), enforced by
/// the kernel (EDQUOT inside, disk_full through the API); the checkpoints get a cap of the same size.
/// 1-16777216, default 10240 (HUTCH_DEFAULT_DISK_MIB). Null in an answer: not enforced on this host.
/// </param>
/// <param name="IoWeight">Share of the workspace disk's time when sandboxes compete (cgroup blkio/io weight), 10-1000, default 100. Null in an answer: not available on this host.</param>
/// <param name="IoReadBps">Most bytes per second read from the workspace disk; null: no cap. 4096 or more.</param>
/// <param name="IoWriteBps">Most bytes per second written to the workspace disk; null: no cap. 4096 or more.</param>
/// <param name="IoReadIops">Most read operations per second on the workspace disk; null: no cap. 1 or more.</param>
/// <param name="IoWriteIops">Most write operations per second on the workspace disk; null: no cap. 1 or more.</param>
public sealed record SandboxLimits(
    long? MemoryMiB = null,
    int? Pids = null,
    double? Cpus = null,
    long? TmpMiB = null,
    long? DiskMiB = null,
    int? IoWeight = null,
    long? IoReadBps = null,
    long? IoWriteBps = null,
    long? IoReadIops = null,
    long? IoWriteIops = null);

/// <summary>A sandbox as the API shows it.</summary>
/// <param name="Id">Its id ("sb-" and 10 characters), which every route takes; so does its name.</param>
/// <param name="Name">The name given at create, if any.</param>
/// <param name="State">running, lost (its agent is gone: only delete works), deleting (a delete the daemon is still retrying) or deleted.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When its TTL ends and it is deleted; null without a TTL.</param>
/// <param name="User">Who commands run as: "user" (uid 1000) or "root" (uid 0 inside, without capabilities).</param>
/// <param name="Cwd">The default working directory of its commands.</param>
/// <param name="Limits">The limits in force, defaults filled in.</param>
/// <param name="Usage">Live resource use; null when it is not running.</param>
/// <param name="Labels">The caller's key/value strings given at create.</param>
/// <param name="Network">Its network policy as the daemon enforces it (entries normalized); mode none when none was given.</param>
/// <param name="NetworkUsage">What its egress has carried; left out when its policy never let anything out.</param>
/// <param name="Secrets">The stored secrets its commands get (names and variables, never values); left out when none.</param>
/// <param name="Template">The template its root is made from, "NAME:VERSION"; left out for the host's root.</param>
/// <param name="Artifacts">Its artifact globs and session key, when it has them.</param>
/// <param name="Bundles">The bundles it mounts, the version of each; left out when none.</param>
public sealed record SandboxInfo(
    string Id,
    string? Name,
    string State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    string User,
    string Cwd,
    SandboxLimits Limits,
    SandboxUsage? Usage,
    Dictionary<string, string>? Labels = null,
    NetworkPolicy? Network = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] NetworkUsage? NetworkUsage = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SecretUseInfo[]? Secrets = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Template = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ArtifactSpec? Artifacts = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SandboxBundleInfo[]? Bundles = null);

/// <summary>
/// What a sandbox's egress has carried since the daemon began relaying for it (counted from zero
/// again after a daemon restart; the event log keeps every connection). Left out for a sandbox whose
/// policy never let anything out.
/// </summary>
/// <param name="Connections">Connections relayed to an upstream, open or closed.</param>
/// <param name="OpenConnections">Connections relayed now (at most 512 at once).</param>
/// <param name="Refused">Connections and name lookups refused.</param>
/// <param name="BytesOut">Bytes sent from the sandbox to upstreams, open connections included.</param>
/// <param name="BytesIn">Bytes received from upstreams, open connections included.</param>
public sealed record NetworkUsage(long Connections, int OpenConnections, long Refused, long BytesOut, long BytesIn);

/// <summary>Live resource use read from the sandbox's cgroups and its workspace's quota; null when the sandbox is not running.</summary>
/// <param name="MemoryBytes">Memory in use now, page cache included (cgroup memory.current).</param>
/// <param name="MemoryPeakBytes">The most memory it has used at once.</param>
/// <param name="Pids">Processes and threads running now.</param>
/// <param name="CpuTimeMs">CPU time used so far, all cores together.</param>
/// <param name="OomKills">Processes the OOM killer ended for its memory limit.</param>
/// <param name="DiskBytes">Bytes the workspace holds as its quota counts them (data and metadata); null without a quota.</param>
/// <param name="DiskLimitBytes">The workspace's quota as the kernel has it; null without one.</param>
/// <param name="CheckpointBytes">Bytes the sandbox's checkpoints reference, counted against a quota of their own of the same size; null without one.</param>
public sealed record SandboxUsage(
    long MemoryBytes,
    long MemoryPeakBytes,
    int Pids,
    long CpuTimeMs,
    long OomKills,
    long? DiskBytes = null,
    long? DiskLimitBytes = null,
    long? CheckpointBytes = null);

/// <summary>Answer of <c>GET /v1/sandboxes</c>.</summary>
/// <param name="Sandboxes">The sandboxes the daemon holds (those the label filters keep).</param>
public sealed record SandboxList(SandboxInfo[] Sandboxes);

/// <summary>The states a sandbox goes through. Strings on the wire.</summary>
public static class SandboxStates
{
    public const string Running = "running";
    /// <summary>The registry knows it but its agent is gone (host reboot, runtime killed it): only delete works.</summary>
    public const string Lost = "lost";
    public const string Deleted = "deleted";
    /// <summary>A delete could not remove everything (the runtime failed, a cgroup stayed busy): the daemon retries, with backoff and at its next start, until it has.</summary>
    public const string Deleting = "deleting";
    /// <summary>Started ahead of demand in the warm pool; never shown by the API until a create claims it.</summary>
    public const string Pooled = "pooled";
}
