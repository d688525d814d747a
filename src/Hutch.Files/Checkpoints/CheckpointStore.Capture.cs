using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;

namespace Hutch.Files.Checkpoints;

// Taking checkpoints: a named one, or the baseline.
public sealed partial class CheckpointStore
{
    /// <summary>
    /// Takes a named checkpoint of the workspace as it is now. Not atomic while a sandbox process
    /// writes: a file written during the capture may be kept half-written (freeze the sandbox around
    /// the call for a consistent one).
    /// </summary>
    /// <param name="root">The sandbox's writable root, to record it too (its upper layer is copied); null for the workspace alone.</param>
    /// <exception cref="WorkspaceException">invalid_checkpoint_name, checkpoint_exists, too_many_checkpoints, disk_full.</exception>
    public CheckpointInfo Create(string name, CancellationToken cancellationToken = default, IWritableRoot? root = null)
    {
        CheckpointName.Validate(name);
        lock (_lock)
        {
            Guard(name, RemoveLeftovers);
            if (Exists(name))
            {
                throw new WorkspaceException(ErrorCodes.CheckpointExists, $"A checkpoint named '{name}' already exists. Pick another name, or delete it first.");
            }
            var count = List().Count;
            if (count >= _limit)
            {
                throw new WorkspaceException(ErrorCodes.TooManyCheckpoints, $"The workspace already has {count} checkpoints, the most it may keep. Delete one you no longer need, then try again.");
            }
            var (temp, info) = Capture(name, cancellationToken, root);
            Publish(temp, name, () => At.Rename(_root, temp, _root, name, noReplace: true));
            return info;
        }
    }

    /// <summary>
    /// Makes the workspace as it is now the baseline that <see cref="Diff"/> and <see cref="Reset"/>
    /// use when no checkpoint is named (the daemon calls it after an import). The old baseline is
    /// swapped out atomically, so there is always exactly one.
    /// </summary>
    public CheckpointInfo SetBaseline(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            Guard(CheckpointName.Baseline, RemoveLeftovers);
            var (temp, info) = Capture(CheckpointName.Baseline, cancellationToken);
            if (Exists(BaselineDirectory))
            {
                Publish(temp, CheckpointName.Baseline, () => At.Exchange(_root, temp, _root, BaselineDirectory));
                Guard(CheckpointName.Baseline, () => Remove(temp));   // now the old baseline
            }
            else
            {
                Publish(temp, CheckpointName.Baseline, () => At.Rename(_root, temp, _root, BaselineDirectory, noReplace: true));
            }
            return info;
        }
    }

    /// <summary>Copies the workspace into a new temp directory of the store; nothing is left of it when that fails.</summary>
    private (string Temp, CheckpointInfo Info) Capture(string name, CancellationToken cancellationToken, IWritableRoot? root = null)
    {
        var temp = TempName(".tmp-");
        Guard(name, () => At.MakeDirectory(_root, temp, OwnerOnly));
        try
        {
            long marker;
            List<ManifestEntry> entries;
            using (var dir = Open(temp, NoFollow.DirectoryFlags))
            {
                // The new directory's ctime is the file system's clock at the start of the capture:
                // the reference for telling "racy" ctimes (see Manifest.MarkerCtimeNs).
                marker = At.Stat(dir, "").CtimeNs;
                At.MakeDirectory(dir, TreeDirectory, OwnerOnly);
                using var tree = Beneath.Open(dir, TreeDirectory, NoFollow.DirectoryFlags, noSymlinks: true);
                using var source = _workspace.OpenDirectory("", WorkspacePath.Root);
                entries = new TreeCapture(cancellationToken).Run(source, tree);
            }
            var manifest = new Manifest(Manifest.CurrentVersion, name, _time.GetUtcNow(), marker, entries);
            var info = manifest.Info();
            if (root is not null)
            {
                info = CaptureRoot(temp, root, info, cancellationToken);
            }
            WriteJson(temp + "/" + ManifestFile, manifest, CheckpointJsonContext.Default.Manifest);
            WriteJson(temp + "/" + InfoFile, info, CheckpointJsonContext.Default.CheckpointInfo);
            return (temp, info);
        }
        catch (Exception e) when (e is WorkspaceException or LinuxException or ContainmentException or IOException)
        {
            TryRemove(temp);
            var error = Errors.From(e, name);   // a WorkspaceException stays itself
            if (error.Code == ErrorCodes.DiskFull)
            {
                throw CheckpointDiskFull(name, error);
            }
            if (ReferenceEquals(error, e))
            {
                throw;
            }
            throw error;
        }
        catch
        {
            TryRemove(temp);   // cancelled, or a bug: still nothing of the checkpoint is left
            throw;
        }
    }

    /// <summary>Copies the root's upper layer into the checkpoint being written (<c>root/</c>).</summary>
    private CheckpointInfo CaptureRoot(string temp, IWritableRoot root, CheckpointInfo info, CancellationToken cancellationToken)
    {
        var copy = new UpperCopy(cancellationToken);
        using (var dir = Open(temp, NoFollow.DirectoryFlags))
        {
            At.MakeDirectory(dir, RootDirectory, OwnerOnly);
            using var target = Beneath.Open(dir, RootDirectory, NoFollow.DirectoryFlags, noSymlinks: true);
            using var upper = NoFollow.Reopen(Beneath.OpenRoot(root.UpperDirectory));
            copy.Run(upper, target);
        }
        return info with { Root = true, RootFiles = copy.Entries, RootBytes = copy.Bytes };
    }

    private void Publish(string temp, string name, Action rename)
    {
        try
        {
            rename();
        }
        catch (Exception e)
        {
            TryRemove(temp);
            throw e is LinuxException { Errno: Errno.EEXIST }
                ? new WorkspaceException(ErrorCodes.CheckpointExists, $"A checkpoint named '{name}' already exists. Pick another name, or delete it first.", e)
                : Errors.From(e, name);
        }
    }

    private void TryRemove(string temp)
    {
        try
        {
            Remove(temp);
        }
        catch (Exception e) when (e is LinuxException or ContainmentException)
        {
            // Left for RemoveLeftovers at the next checkpoint.
        }
    }

    private static WorkspaceException CheckpointDiskFull(string name, Exception inner) => new(ErrorCodes.DiskFull, $"The disk is full: the checkpoint '{name}' could not be taken, and nothing of it was kept. Delete checkpoints or files you no longer need, then try again.", inner);
}
