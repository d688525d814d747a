using Hutch.Daemon.Registry;
using Hutch.Daemon.Templates;
using Hutch.Runtime;
using Hutch.Runtime.Limits;
using Hutch.Runtime.Oci;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// Starts a sandbox's container from its registry row (bundle, runtime, kernel shares, agent
/// channel) and removes everything of it again (processes, container, cgroups, files, row).
/// </summary>
public sealed class SandboxRunner(SandboxDirectory directory, SandboxStorage storage, OciRuntime runtime, TemplateRoots templates, TimeProvider time, ILogger log)
{
    private readonly List<ISandboxObserver> _observers = [];
    private SandboxPaths Paths => directory.Paths;

    /// <summary>The features told before a sandbox is removed.</summary>
    public void Observe(ISandboxObserver observer) => _observers.Add(observer);

    public async Task<LiveSandbox> StartAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        var uid = record.SandboxUid;
        var sandboxDir = Paths.SandboxDir(record.Id);
        Directory.CreateDirectory(sandboxDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var workspace = storage.WorkspaceOf(record);
        if (record.HostWorkspace is null)
        {
            storage.CreateWorkspace(record);
        }
        // The workspace belongs to the sandbox's user as the host sees it (its uid shifted into the sandbox's range).
        SandboxStorage.Chown(workspace, record.HostIdBase + uid);
        EnsureCwd(record, workspace);

        var limits = record.Limits;
        var trust = Paths.Trust(record.Id);
        Directory.CreateDirectory(Path.GetDirectoryName(trust)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(trust, TrustDirMode);
        // A template's root: the sandbox's own overlay, its changes on its quota beside the workspace.
        var root = record.Template is null ? Paths.Rootfs : templates.Mount(record);
        var spec = new SandboxSpec(record.Id, root, Paths.Etc, Paths.AgentBinary, workspace, record.HostIdBase, uid,
            limits.MemoryMiB!.Value << 20, limits.Pids!.Value, limits.Cpus!.Value, limits.TmpMiB!.Value << 20, storage.BlockIoOf(limits))
        {
            TrustDir = trust,
            TemplateRoot = record.Template is null ? null : templates.Loader,
            PropagatedMounts = PropagatedMountsOf(record),
        };
        await PrivateFiles.WriteAllTextAsync(Path.Join(sandboxDir, "config.json"), OciSpecBuilder.Build(spec).ToJsonString(), cancellationToken).ConfigureAwait(false);
        PrivateFiles.OpenWrite(Paths.AgentLog(record.Id), append: true).Dispose(); // 0600 before the runtime appends to it

        var socketPath = Paths.AgentSocket(record.Id);
        File.Delete(socketPath);
        var recordsDir = Paths.Records(record.Id);
        Directory.CreateDirectory(recordsDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        SandboxStorage.Chown(recordsDir, record.HostUid);
        using (var listener = Hutch.Linux.UnixListener.Listen(socketPath, backlog: 16))
        using (var records = Hutch.Linux.Beneath.OpenRoot(recordsDir))
        {
            File.SetUnixFileMode(socketPath, PrivateFiles.FileMode);
            await runtime.RunDetachedAsync(record.Id, sandboxDir, listener, records, Paths.AgentLog(record.Id)).ConfigureAwait(false);
        }
        // Before any command runs: the sandbox's own share of the counters charged to the host's root.
        // Not cut short by an engine that stops (bounded by its own budget), like the runtime's start.
        await KernelShares.ApplyAsync(runtime.InitPid(record.Id) ?? throw new IOException($"the runtime has no init pid for sandbox {record.Id}"),
            CancellationToken.None).ConfigureAwait(false);
        return await directory.ConnectAsync(record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The sandbox's /bundles and its other bundle mount points, each a fresh host directory under
    /// the shared bundle mounts (docs/bundles.md): what the daemon mounts there later appears inside.
    /// </summary>
    private IReadOnlyList<PropagatedMount> PropagatedMountsOf(SandboxRecord record)
    {
        var mounts = new List<PropagatedMount>();
        var sources = new List<(string Destination, string Source)> { (BundleLocations.Root, Paths.BundleRoot(record.Id)) };
        for (var i = 0; i < (record.MountPoints?.Length ?? 0); i++)
        {
            sources.Add((record.MountPoints![i], Paths.BundleAt(record.Id, i)));
        }
        // Whatever a crashed start left there (nothing is mounted in it: its sandbox never ran).
        RemoveBundleMounts(record.Id);
        foreach (var (destination, source) in sources)
        {
            Directory.CreateDirectory(source);
            // Root's, listable by the sandbox's users ("other" on the host); the parents 0711, reachable by path only.
            File.SetUnixFileMode(source, TrustDirMode);
            File.SetUnixFileMode(Path.GetDirectoryName(source)!, SearchOnly);
            mounts.Add(new PropagatedMount(destination, source));
        }
        File.SetUnixFileMode(Path.Join(Paths.BundleMounts, record.Id), SearchOnly);
        return mounts;
    }

    /// <summary>Detaches whatever is still mounted in the sandbox's bundle directories, then removes them.</summary>
    private void RemoveBundleMounts(string id)
    {
        var dir = Path.Join(Paths.BundleMounts, id);
        if (!Directory.Exists(dir))
        {
            return;
        }
        Hutch.Linux.PropagatedMounts.UnmountAllUnder(dir);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>rwx--x--x: reachable by path, not listable.</summary>
    private const UnixFileMode SearchOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>rwxr-xr-x: the sandbox reads its certificates as "other".</summary>
    private const UnixFileMode TrustDirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates the default working directory when it is a subdirectory that does not exist yet, owned
    /// by the sandbox's user and never through a symlink (an adopted workspace may hold anything).
    /// </summary>
    public static void EnsureCwd(SandboxRecord record, string workspace)
    {
        if (record.Cwd != WorkspaceCwd.Root)
        {
            using var files = new Hutch.Files.Workspace(workspace, record.HostUid, record.HostUid);
            files.MakeDirectory(record.Cwd, parents: true);
        }
    }

    /// <summary>Removes everything of the sandbox and marks its row deleted.</summary>
    public async Task DestroyAsync(SandboxRecord record, bool keepWorkspace, CancellationToken cancellationToken, string? reason = null)
    {
        await RemoveEverythingAsync(record, keepWorkspace, cancellationToken).ConfigureAwait(false);
        directory.Registry.MarkDeleted(record.Id, time.GetUtcNow(), reason);
        Log.Deleted(log, record.Id, keepWorkspace);
    }

    /// <summary>Kills every process, removes container state and cgroups, the bundle, and the workspace unless kept.</summary>
    public async Task RemoveEverythingAsync(SandboxRecord record, bool keepWorkspace, CancellationToken cancellationToken)
    {
        foreach (var observer in _observers)
        {
            await observer.DeletingAsync(record.Id).ConfigureAwait(false);
        }
        await directory.DisconnectAsync(record.Id).ConfigureAwait(false);
        await runtime.DeleteAsync(record.Id, SandboxSpec.CgroupPathOf(record.Id), cancellationToken).ConfigureAwait(false);
        // Before the volume goes: nothing may be mounted from its upper layer then.
        templates.Unmount(record.Id);
        // The features unmounted its bundles before (DeletingAsync); what a crash left goes here.
        RemoveBundleMounts(record.Id);
        storage.Remove(record, keepWorkspace);
    }
}
