namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// Where things live in the data dir. The data dir and its folders are 0711 or tighter: the runtime
/// sets a sandbox up from inside its user namespace (as a host uid with no rights here), so bind
/// sources must be reachable by path, while names of other entries cannot be listed.
/// </summary>
public sealed class SandboxPaths(string dataDir)
{
    public string DataDir { get; } = dataDir;
    public string Database => Path.Join(DataDir, "registry.db");
    public string RuntimeState => Path.Join(DataDir, "runc");
    public string Rootfs => Path.Join(DataDir, "rootfs");
    public string Etc => Path.Join(DataDir, "etc");
    public string AgentBinary => Path.Join(DataDir, "bin", "hutch-agent");
    public string Sandboxes => Path.Join(DataDir, "sandboxes");
    public string Workspaces => Path.Join(DataDir, "workspaces");

    /// <summary>Collected output past its memory budget (<see cref="OutputBuffer"/>): 0700, files unlinked while open.</summary>
    public string Spill => Path.Join(DataDir, "spill");

    public string SandboxDir(string id) => Path.Join(Sandboxes, id);

    /// <summary>
    /// The sandbox's trust directory (0755, public certificates only), bound read-only at
    /// /etc/ssl/hutch: its egress CA and the host's bundle with it, written when it first holds a
    /// placeholder (docs/secrets.md). Outside the sandbox's 0700 folder, since the runtime binds it by path.
    /// </summary>
    public string Trust(string id) => Path.Join(DataDir, "trust", id);

    /// <summary>Present while a delete asked to keep the workspace has not finished: a retry, even by the next daemon, keeps it too.</summary>
    public string KeepWorkspaceMarker(string id) => Path.Join(Sandboxes, id + ".keep-workspace");
    public string Bundle(string id) => SandboxDir(id);
    public string AgentSocket(string id) => Path.Join(SandboxDir(id), "agent.sock");
    public string AgentLog(string id) => Path.Join(SandboxDir(id), "agent.log");

    /// <summary>Background processes' logs and exit records: written by the agent through an inherited descriptor, never mounted inside.</summary>
    public string Records(string id) => Path.Join(SandboxDir(id), "records");
    /// <summary>
    /// A sandbox's own part of the workspaces' volume (0711, root's): the unit of its disk quota (a btrfs
    /// subvolume when the volume has quotas) holding its workspace and its staging, so that staged
    /// files count against the quota and a rename from staging into the workspace never crosses a
    /// subvolume (EXDEV).
    /// </summary>
    public string Volume(string id) => Path.Join(Workspaces, id);

    /// <summary>The host directory bound as the sandbox's /workspace.</summary>
    public string Workspace(string id) => Path.Join(Volume(id), "workspace");

    /// <summary>A sandbox's checkpoints: on the workspaces' file system, so they can share blocks (reflinks), but never mounted into a sandbox.</summary>
    public string Checkpoints(string id) => Path.Join(Workspaces, ".checkpoints", id);

    /// <summary>
    /// Where the files API stages a sandbox's in-flight writes (upload temp files, import staging
    /// directories): on the workspaces' file system, so the final rename into the workspace is atomic,
    /// but never mounted into a sandbox (0700, root's), so a sandbox never sees or touches them.
    /// </summary>
    public string Staging(string id) => Path.Join(Volume(id), "staging");

    /// <summary>
    /// The host directory every sandbox's bundle mounts live under (docs/bundles.md): a shared mount
    /// of itself (0711, beside the 0700 bundle store), so a mount made below it reaches the sandboxes
    /// that bind a part of it, and the runtime reaches each sandbox's part by path.
    /// </summary>
    public string BundleMounts => Path.Join(DataDir, "bundle-mounts");

    /// <summary>The sandbox's /bundles on the host (0755, root's): a bundle is mounted on a directory in it.</summary>
    public string BundleRoot(string id) => Path.Join(BundleMounts, id, "root");

    /// <summary>The host side of the sandbox's <paramref name="index"/>th mount point beyond /bundles (<see cref="Registry.SandboxRecord.MountPoints"/>).</summary>
    public string BundleAt(string id, int index) => Path.Join(BundleMounts, id, "at", index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Truncated execs' whole outputs (Exec/KeptOutputs), on the sandbox's quota beside its workspace, never in its reach.</summary>
    public string Outputs(string id) => Path.Join(Volume(id), "outputs");

}
