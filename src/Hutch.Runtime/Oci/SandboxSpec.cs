namespace Hutch.Runtime.Oci;

/// <summary>Everything the OCI bundle of one sandbox is made from.</summary>
/// <param name="Id">Sandbox id, also the container id given to the runtime and the hostname.</param>
/// <param name="HostIdBase">First host uid/gid of the 65536 ids mapped into the sandbox's user namespace (0 inside).</param>
/// <param name="Uid">uid (and gid) inside the sandbox the agent and its commands run as: 1000 or 0.</param>
public sealed record SandboxSpec(
    string Id,
    string RootfsDir,
    string EtcDir,
    string AgentPath,
    string WorkspaceDir,
    int HostIdBase,
    int Uid,
    long MemoryBytes,
    int Pids,
    double Cpus,
    long TmpBytes,
    BlockIoLimits? BlockIo = null)
{
    /// <summary>
    /// The host's public CA store, bound read-only at /etc/ssl/certs; null when the host has none.
    /// Looked up at each create, so installing ca-certificates needs no daemon restart.
    /// </summary>
    public string? CaStoreDir { get; init; } = HostCaStore.Find();

    /// <summary>The sandbox's own trust directory, bound read-only at <see cref="HostCaStore.SandboxTrustDir"/> (its egress CA, when it has one); null for none.</summary>
    public string? TrustDir { get; init; }

    /// <summary>
    /// The sandbox's own writable root, from a template (docs/templates.md): <see cref="RootfsDir"/> is
    /// then an overlay the daemon mounted (the template's layers under the sandbox's upper layer), its
    /// /usr and /etc are the template's, and the agent runs through the host's dynamic loader so it
    /// needs nothing of the template's C library. Null: the host's root, read-only (the default).
    /// </summary>
    public AgentLoader? TemplateRoot { get; init; }

    /// <summary>
    /// Read-only binds whose sources are host directories under a shared mount, bound rslave so that
    /// mounts the daemon makes on the host below a source appear inside while the sandbox runs
    /// (docs/bundles.md): /bundles for every sandbox, and a bundle's own path when it has one.
    /// </summary>
    public IReadOnlyList<PropagatedMount> PropagatedMounts { get; init; } = [];

    /// <summary>Size of the id range mapped into each sandbox's user namespace.</summary>
    public const int IdRangeSize = 65536;

    /// <summary>
    /// The home of the sandbox's user: /home/user for uid 1000, /root for uid 0. A tmpfs of its own
    /// (see <see cref="OciSpecBuilder"/>), never the workspace, so caches and shell history stay out
    /// of the user's project (diff, checkpoints, sync).
    /// </summary>
    public static string HomeOf(int uid) => uid == 0 ? "/root" : "/home/user";

    /// <summary>The home of this sandbox's user.</summary>
    public string Home => HomeOf(Uid);

    /// <summary>Where the agent binary appears inside the sandbox.</summary>
    public const string AgentPathInside = "/.hutch/agent";

    /// <summary>cgroup path (relative to each controller's root) that the runtime creates for this sandbox.</summary>
    public string CgroupPath => CgroupPathOf(Id);

    public static string CgroupPathOf(string id) => $"/hutch/{id}";
}

/// <summary>A read-only bind that receives the host's later mounts below its source (rbind, rslave).</summary>
/// <param name="Destination">Absolute path inside.</param>
/// <param name="Source">Host directory under a shared mount.</param>
public sealed record PropagatedMount(string Destination, string Source);

/// <summary>
/// Block I/O limits on the disk the workspaces are written to (OCI linux.resources.blockIO). On
/// cgroup v1 throttling holds direct I/O and reads; buffered writes are flushed later by the
/// kernel's writeback, which v1 does not charge to the sandbox (v2 does).
/// </summary>
/// <param name="Device">"major:minor" of the whole disk (the kernel refuses limits on a partition).</param>
/// <param name="Weight">Share when sandboxes compete (10-1000); null: the kernel's default.</param>
public sealed record BlockIoLimits(string Device, int? Weight, long? ReadBps, long? WriteBps, long? ReadIops, long? WriteIops);

/// <summary>
/// The host's dynamic loader and the C libraries the agent links (NativeAOT: libc and libm), bound
/// read-only under /.hutch in a template's root, so the agent starts whatever C library, or none,
/// the template has. Found once from the agent binary's own program headers' needs on this host.
/// </summary>
/// <param name="Loader">Host path of ld-linux (its real file, not a link).</param>
/// <param name="Libraries">Host paths of the libraries, each bound under <see cref="LibraryDirInside"/> by its file name.</param>
public sealed record AgentLoader(string Loader, IReadOnlyList<string> Libraries)
{
    public const string LoaderInside = "/.hutch/ld.so";
    public const string LibraryDirInside = "/.hutch/lib";

    /// <summary>This host's: the x86-64 loader and the libraries NativeAOT programs link.</summary>
    public static AgentLoader Host()
    {
        const string libDir = "/lib/x86_64-linux-gnu";
        return new AgentLoader(Real("/lib64/ld-linux-x86-64.so.2"), [Path.Join(libDir, "libc.so.6"), Path.Join(libDir, "libm.so.6")]);
    }

    private static string Real(string path) => new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
}
