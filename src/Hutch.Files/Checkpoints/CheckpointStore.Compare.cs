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
    /// <param name="root">The sandbox's writable root, to compare it too (against the checkpoint's copy of it, or the template for the baseline); null for the workspace alone.</param>
    /// <exception cref="WorkspaceException">… and checkpoint_without_root when <paramref name="root"/> is given for a checkpoint taken without it.</exception>
    public WorkspaceDiff Diff(string? since = null, CancellationToken cancellationToken = default, IWritableRoot? root = null) =>
        Walk(since, apply: false, cancellationToken, root);

    /// <summary>
    /// Makes the workspace equal to a checkpoint (or the baseline), in place: what the checkpoint
    /// lacks is deleted, changed files are restored one by one (each atomically, by renaming a clone
    /// over it), unchanged files are not touched. Returns what was undone, as a diff would have shown
    /// it. Processes in the sandbox keep running and see the files change under them; one that writes
    /// while the reset runs can leave its own writes behind.
    /// </summary>
    /// <exception cref="WorkspaceException">invalid_checkpoint_name, checkpoint_not_found, workspace_busy, disk_full.</exception>
    /// <param name="root">The sandbox's writable root, to return it to the checkpoint too (pause the sandbox around the call); null for the workspace alone.</param>
    public WorkspaceDiff Reset(string? to = null, CancellationToken cancellationToken = default, IWritableRoot? root = null) =>
        Walk(to, apply: true, cancellationToken, root);

    private WorkspaceDiff Walk(string? name, bool apply, CancellationToken cancellationToken, IWritableRoot? root)
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
            // The baseline's root is the template itself; a named checkpoint's is its copy.
            var savedRoot = root is null || baseline ? null : directory + "/" + RootDirectory;
            if (savedRoot is not null && !HoldsRoot(directory))
            {
                tree?.Dispose();
                throw new WorkspaceException(ErrorCodes.CheckpointWithoutRoot, $"The checkpoint '{since}' was taken without the sandbox's root. Compare or reset the workspace alone (leave out includeRoot), or take a checkpoint with includeRoot.");
            }
            WorkspaceDiff diff;
            using (tree)
            {
                using var workspace = _workspace.OpenDirectory("", WorkspacePath.Root);
                diff = new Reconciler(manifest, tree, _workspace, apply, cancellationToken).Run(workspace, since);
            }
            return root is null ? diff : diff with { Root = WalkRoot(root, savedRoot, apply, cancellationToken) };
        }
    }

    private bool HoldsRoot(string directory)
    {
        using var dir = Open(directory, NoFollow.DirectoryFlags);
        return At.TryStat(dir, RootDirectory) is { Kind: EntryKind.Directory };
    }

    /// <summary>Compares (or resets) the writable root with its copy in <paramref name="savedRoot"/> over the template, or with the template alone.</summary>
    private RootDiff WalkRoot(IWritableRoot root, string? savedRoot, bool apply, CancellationToken cancellationToken)
    {
        var saved = savedRoot is null ? null : HostDirectory + "/" + savedRoot;
        using var view = NoFollow.Reopen(root.OpenView(saved));
        using var live = NoFollow.Reopen(root.OpenLive());
        using var upper = NoFollow.Reopen(Beneath.OpenRoot(root.UpperDirectory));
        using var savedUpper = savedRoot is null ? null : Open(savedRoot, NoFollow.DirectoryFlags);
        SafeFileHandle[] uppers = savedUpper is null ? [upper] : [upper, savedUpper];
        return new RootReconciler(root.MountPoints, apply, cancellationToken).Run(live, view, uppers);
    }
}
