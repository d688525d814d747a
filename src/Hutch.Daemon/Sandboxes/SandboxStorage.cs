using Hutch.Daemon.Registry;
using Hutch.Files.Checkpoints;
using Hutch.Runtime;
using Hutch.Runtime.Cgroups;
using Hutch.Runtime.Oci;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// The data dir on disk: its folders (made private at start), the workspaces' volume with its disk
/// quotas and block I/O limits, and each sandbox's own part of it: workspace, checkpoint store and
/// the staging where file operations and spilled output are written.
/// </summary>
public sealed class SandboxStorage
{
    private readonly SandboxPaths _paths;

    private SandboxStorage(SandboxPaths paths, WorkspaceVolume volume, BlockIoSupport blockIo, HostLimits hostLimits)
    {
        _paths = paths;
        Volume = volume;
        BlockIo = blockIo;
        HostLimits = hostLimits;
    }

    /// <summary>Where workspaces live and whether checkpoints there are reflinks or copies.</summary>
    public WorkspaceVolume Volume { get; }

    /// <summary>Which block I/O limits sandboxes can get on the workspace disk.</summary>
    public BlockIoSupport BlockIo { get; }

    /// <summary>What a create may ask for on the workspace volume.</summary>
    public HostLimits HostLimits { get; }

    /// <summary>Makes the data dir and its folders (private to root), the workspaces' volume and the shared read-only root.</summary>
    public static SandboxStorage Prepare(HutchOptions options, SandboxPaths paths)
    {
        Directory.CreateDirectory(paths.DataDir);
        File.SetUnixFileMode(paths.DataDir, PrivateFiles.TraverseOnlyMode);
        // Before anything is put in it: an empty workspaces dir may get an XFS volume with reflinks.
        var volume = WorkspaceVolume.Ensure(paths.Workspaces, new WorkspaceVolumeOptions { Mode = options.WorkspaceVolume });
        var blockIo = BlockIoSupport.Detect(volume.BlockDevice);
        var hostLimits = new HostLimits(
            volume.Quotas is not null, options.DefaultDiskMiB, volume.QuotaDescription,
            blockIo.Weight && blockIo.Device is not null, options.DefaultIoWeight, blockIo.Description,
            blockIo.Throttle && blockIo.Device is not null, blockIo.Description);
        foreach (var dir in new[] { paths.Sandboxes, paths.Workspaces, Path.GetDirectoryName(paths.AgentBinary)! })
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, PrivateFiles.TraverseOnlyMode);
        }
        Directory.CreateDirectory(paths.RuntimeState, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        RootfsLayout.Ensure(paths.Rootfs, paths.Etc);
        return new SandboxStorage(paths, volume, blockIo, hostLimits);
    }

    /// <summary>What a create may ask for: a caller's own directory is not on the workspace volume, so it gets neither quotas nor I/O limits.</summary>
    public HostLimits LimitsFor(string? hostWorkspace) => hostWorkspace is null
        ? HostLimits
        : HostLimits.None($"the workspace is the caller's directory {hostWorkspace}, not on Hutch's workspace volume");

    /// <summary>The host directory bound as the sandbox's /workspace.</summary>
    public string WorkspaceOf(SandboxRecord record) => record.HostWorkspace ?? _paths.Workspace(record.Id);

    /// <summary>
    /// Makes the sandbox's workspace and its checkpoint store: with a disk limit, each one a quota
    /// directory capped at it (so checkpoints count too, against a cap of their own: reflinked
    /// copies reference the same blocks, and without a cap one sandbox could fill the volume with them).
    /// </summary>
    public void CreateWorkspace(SandboxRecord record)
    {
        var volume = _paths.Volume(record.Id);
        if (record.Limits.DiskMiB is not { } mib || Volume.Quotas is not { } quotas)
        {
            Directory.CreateDirectory(volume, PrivateFiles.TraverseOnlyMode);
        }
        else
        {
            var checkpoints = _paths.Checkpoints(record.Id);
            Directory.CreateDirectory(Path.GetDirectoryName(checkpoints)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            quotas.CreateDirectory(volume, mib << 20);
            quotas.CreateDirectory(checkpoints, mib << 20);
        }
        // The runtime, as the sandbox's mapped root, passes through to bind the workspace.
        File.SetUnixFileMode(volume, PrivateFiles.TraverseOnlyMode);
        Directory.CreateDirectory(_paths.Workspace(record.Id), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public BlockIoLimits? BlockIoOf(SandboxLimits limits) =>
        BlockIo.Device is { } device && (limits.IoWeight ?? limits.IoReadBps ?? limits.IoWriteBps ?? limits.IoReadIops ?? limits.IoWriteIops) is not null
            ? new BlockIoLimits(device, limits.IoWeight, limits.IoReadBps, limits.IoWriteBps, limits.IoReadIops, limits.IoWriteIops)
            : null;

    /// <summary>The bytes a sandbox's workspace and checkpoints take, where the volume counts them.</summary>
    public (DiskUsage? Workspace, DiskUsage? Checkpoints) DiskUsageOf(SandboxRecord record) =>
        (record.HostWorkspace is null ? Volume.Quotas?.Usage(_paths.Volume(record.Id)) : null, Volume.Quotas?.Usage(_paths.Checkpoints(record.Id)));

    /// <summary>
    /// The sandbox's staging directory (<see cref="SandboxPaths.Staging"/>), made when missing; none for
    /// a caller's host directory bound as the workspace (not on the volume: staged beside the targets).
    /// </summary>
    public string? EnsureStaging(SandboxRecord record)
    {
        if (record.HostWorkspace is not null)
        {
            return null;
        }
        return Directory.CreateDirectory(_paths.Staging(record.Id), PrivateFiles.DirectoryMode).FullName;
    }

    /// <summary>
    /// Where a command's collected output spills past its memory budget: the sandbox's staging, on its
    /// own quota (a caller's host directory has none: the data dir's spill directory then).
    /// </summary>
    public string SpillDirectoryOf(SandboxRecord? record) => record is { HostWorkspace: null } ? _paths.Staging(record.Id) : _paths.Spill;

    /// <summary>
    /// Where truncated execs' whole outputs are kept: beside the workspace on the sandbox's quota (with
    /// a caller's host directory as the workspace, none: the sandbox's own directory in the data dir).
    /// Both go with the sandbox, a kept workspace's too.
    /// </summary>
    public string OutputsDirectoryOf(SandboxRecord record) =>
        record.HostWorkspace is null ? _paths.Outputs(record.Id) : Path.Join(_paths.SandboxDir(record.Id), "outputs");

    /// <summary>
    /// Removes what file operations that never finished left in a sandbox's staging directory (a
    /// daemon killed mid-upload or mid-import): at adoption and at delete, when none can be running.
    /// </summary>
    public void RemoveStaging(string id) => DeleteTree(_paths.Staging(id));

    /// <summary>
    /// At daemon start, before any request: every sandbox's staging is what an operation of a dead
    /// daemon left, except that of a sandbox <paramref name="inUse"/> says someone else still works in
    /// (a live `hutch run`, whose own engine may be writing there now).
    /// </summary>
    public void RemoveAbandonedStaging(Func<string, bool> inUse)
    {
        foreach (var volume in Directory.EnumerateDirectories(_paths.Workspaces))
        {
            var id = Path.GetFileName(volume);
            if (Directory.Exists(_paths.Staging(id)) && !inUse(id))
            {
                DeleteTree(_paths.Staging(id));
            }
        }
    }

    /// <summary>Removes everything of the sandbox on disk: its bundle and records, its workspace unless kept, its checkpoints and staging.</summary>
    public void Remove(SandboxRecord record, bool keepWorkspace)
    {
        DeleteTree(_paths.SandboxDir(record.Id));
        DeleteTree(_paths.Trust(record.Id));
        if (record.HostWorkspace is not null)
        {
            // A caller's directory is never deleted; it, and what the sandbox made in it (owned by ids
            // of the sandbox's range, which mean nothing on the host), go to whoever lent it.
            var (uid, gid) = ParseOwner(record.HostWorkspaceOwner);
            Hutch.Linux.FileOwner.GiveBack(record.HostWorkspace, record.HostIdBase, SandboxSpec.IdRangeSize, uid, gid);
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
        DeleteTree(_paths.Outputs(record.Id));
    }

    /// <summary>
    /// At a clean stop: unmounts the workspaces' volume (the loop image Hutch mounted) when nothing of
    /// any sandbox is on it. Sandboxes outlive the daemon by design and their workspaces are binds of
    /// this volume, so it stays while the registry knows any sandbox (<paramref name="sandboxesKnown"/>:
    /// running, lost, pooled, or a `hutch run`'s), or while it holds a kept workspace or a checkpoint
    /// (unmounted, those would vanish from the data dir until the next start). The next start (or
    /// `hutch run`) mounts it again. Returns why it stays mounted, or null.
    /// </summary>
    public string? ReleaseVolume(int sandboxesKnown)
    {
        if (Volume.Image is null)
        {
            return null; // Not Hutch's mount: the host's own file system, left as it is.
        }
        if (sandboxesKnown > 0)
        {
            return $"{sandboxesKnown} sandboxes still use it";
        }
        var checkpoints = Path.Join(_paths.Workspaces, ".checkpoints");
        var left = FirstEntry(_paths.Workspaces, except: checkpoints) ?? FirstEntry(checkpoints);
        if (left is not null)
        {
            return $"it holds {left} (a kept workspace: move it out, then `umount {_paths.Workspaces}`)";
        }
        try
        {
            Volume.Unmount();
            return null;
        }
        catch (IOException e)
        {
            return e.Message; // Busy (a shell of the host inside it, say): it stays, as it was.
        }
    }

    /// <summary>
    /// The first entry of a directory, or null. Enumerated in a foreach, which disposes it: a directory
    /// enumerable opens its handle when it is made, and one never enumerated keeps the volume busy.
    /// </summary>
    private static string? FirstEntry(string directory, string? except = null)
    {
        if (!Directory.Exists(directory))
        {
            return null;
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            if (entry != except)
            {
                return entry;
            }
        }
        return null;
    }

    /// <summary>
    /// Who runs this engine in-process, as "uid:gid": the user behind sudo (SUDO_UID, SUDO_GID) when
    /// root runs it through sudo, else this process's real ids.
    /// </summary>
    public static string Caller()
    {
        var (uid, gid) = Hutch.Linux.FileOwner.Current;
        if (uid == 0 && int.TryParse(Environment.GetEnvironmentVariable("SUDO_UID"), out var sudoUid) && sudoUid >= 0)
        {
            uid = sudoUid;
            gid = int.TryParse(Environment.GetEnvironmentVariable("SUDO_GID"), out var sudoGid) && sudoGid >= 0 ? sudoGid : sudoUid;
        }
        return $"{uid}:{gid}";
    }

    /// <summary>"uid:gid" as <see cref="Caller"/> wrote it; root's for a row from before it was kept (what a delete gave then).</summary>
    private static (int Uid, int Gid) ParseOwner(string? owner) =>
        owner?.Split(':') is [var u, var g] && int.TryParse(u, out var uid) && int.TryParse(g, out var gid) ? (uid, gid) : (0, 0);

    public static void Chown(string path, int id) => Hutch.Linux.FileOwner.Change(path, id, id);

    /// <summary>Deletes a directory of the data dir whatever a sandbox built in it (any depth, never through a symlink).</summary>
    private static void DeleteTree(string path) => Hutch.Linux.TreeRemover.Delete(path);
}
