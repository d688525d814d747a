using Hutch.Linux;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Checkpoints;

// Comparing with a checkpoint, and going back to it.
public sealed partial class CheckpointStore
{
    /// <summary>
    /// Paths added, modified and deleted since a checkpoint, or since the baseline when
    /// <paramref name="since"/> is null or "baseline" (an empty workspace when none was set).
    /// A file counts as modified when its content, type, mode, owner or symlink target changed (a
    /// touch alone is no change); a directory when its mode or owner did. Added and deleted
    /// directories are listed with everything in them. FIFOs, sockets and devices are not listed.
    /// </summary>
    /// <exception cref="WorkspaceException">invalid_checkpoint_name, checkpoint_not_found.</exception>
    public WorkspaceDiff Diff(string? since = null, CancellationToken cancellationToken = default) =>
        Walk(since, apply: false, cancellationToken);

    /// <summary>
    /// Makes the workspace equal to a checkpoint (or the baseline), in place: what the checkpoint
    /// lacks is deleted, changed files are restored one by one (each atomically, by renaming a clone
    /// over it), unchanged files are not touched. Returns what was undone, as a diff would have shown
    /// it. Processes in the sandbox keep running and see the files change under them; one that writes
    /// while the reset runs can leave its own writes behind.
    /// </summary>
    /// <exception cref="WorkspaceException">invalid_checkpoint_name, checkpoint_not_found, workspace_busy, disk_full.</exception>
    public WorkspaceDiff Reset(string? to = null, CancellationToken cancellationToken = default) =>
        Walk(to, apply: true, cancellationToken);

    private WorkspaceDiff Walk(string? name, bool apply, CancellationToken cancellationToken)
    {
        var baseline = CheckpointName.IsBaseline(name);
        var directory = baseline ? BaselineDirectory : CheckpointName.Validate(name);
        var since = baseline ? CheckpointName.Baseline : directory;
        lock (_lock)
        {
            Manifest manifest;
            SafeFileHandle? tree = null;
            if (baseline && !Exists(BaselineDirectory))
            {
                manifest = Manifest.Empty;
            }
            else
            {
                if (!baseline)
                {
                    RequireExists(directory);
                }
                manifest = Guard(since, () => ReadJson(directory + "/" + ManifestFile, CheckpointJsonContext.Default.Manifest));
                tree = Guard(since, () => Open(directory + "/" + TreeDirectory, Beneath.O_PATH | Beneath.O_DIRECTORY));
            }
            using (tree)
            {
                using var workspace = _workspace.OpenDirectory("", WorkspacePath.Root);
                return new Reconciler(manifest, tree, _workspace, apply, cancellationToken).Run(workspace, since);
            }
        }
    }
}
