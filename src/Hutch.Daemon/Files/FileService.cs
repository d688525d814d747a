using Hutch.Daemon.Templates;
using Hutch.Protocol.Redaction;
using Hutch.Daemon.Registry;
using Hutch.Files;
using Hutch.Files.Archives;
using Hutch.Files.Checkpoints;
using Hutch.Runtime;

namespace Hutch.Daemon.Files;

/// <summary>
/// Workspace files and checkpoints: this finds the sandbox's host directory and the ids its user has
/// on the host; Hutch.Files does the contained work.
/// </summary>
public sealed class FileService(SandboxDirectory directory, SandboxStorage storage, OciRuntime runtime, HutchOptions options, SandboxEvents? events = null,
    TemplateRoots? roots = null)
{
    /// <summary>Records a raw download (not redacted) of a sandbox that holds secrets in its events; nothing for one that holds none.</summary>
    public void RecordRawRead(string idOrName, string what)
    {
        var id = directory.Find(idOrName).Id;
        if (events is not null && directory.Secrets.RedactionOf(id).Count > 0)
        {
            events.Record(id, SandboxEventTypes.FileReadRaw, $"{what} left the daemon as bytes, not redacted.");
        }
    }

    /// <summary>What a read of the sandbox's files must not show (its secrets' values).</summary>
    public RedactionSet RedactionOf(string idOrName) => directory.Secrets.RedactionOf(directory.Find(idOrName).Id);

    /// <summary>The sandbox's workspace, pinned for file operations. Dispose it when done.</summary>
    /// <exception cref="HutchException">sandbox_not_found.</exception>
    public Workspace OpenWorkspace(string idOrName)
    {
        var record = directory.Find(idOrName);
        return new Workspace(storage.WorkspaceOf(record), record.HostUid, record.HostUid, storage.EnsureStaging(record));
    }

    /// <summary>Unpacks a tar into the workspace, all or nothing; with <paramref name="setBaseline"/> the result becomes the baseline.</summary>
    public async Task<ImportResult> ImportAsync(string idOrName, string into, Stream archive, bool setBaseline, CancellationToken cancellationToken)
    {
        using var workspace = OpenWorkspace(idOrName);
        var limits = new ImportLimits(Math.Min(options.MaxFileBytes, ImportLimits.DefaultMaxBytes));
        var result = await ArchiveImporter.ImportAsync(workspace, into, archive, limits, cancellationToken).ConfigureAwait(false);
        if (setBaseline)
        {
            using var checkpoints = OpenCheckpoints(idOrName, workspace);
            checkpoints.SetBaseline(cancellationToken);
        }
        return result;
    }

    /// <summary>The sandbox's checkpoints over an open workspace. Dispose it when done.</summary>
    public CheckpointStore OpenCheckpoints(string idOrName, Workspace workspace) =>
        new(workspace, directory.Paths.Checkpoints(directory.Find(idOrName).Id));

    /// <summary>
    /// Records a checkpoint of a consistent workspace (and with <paramref name="includeRoot"/> of the
    /// sandbox's writable root): a running sandbox is paused (cgroup freezer) while its files are
    /// captured, as `docker commit` does, so no file is caught half-written and all of them are from
    /// one moment. A capture of reflinks takes milliseconds; runc's pause and resume add ~20 ms.
    /// </summary>
    public async Task<CheckpointInfo> CreateCheckpointAsync(string idOrName, string name, bool includeRoot, CancellationToken cancellationToken)
    {
        CheckpointName.Validate(name);
        var record = directory.Find(idOrName);
        var root = includeRoot ? WritableRoot(record) : null;
        return await PausedAsync(record, () => WithCheckpoints(idOrName, checkpoints => checkpoints.Create(name, cancellationToken, root)), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>What changed since a checkpoint (or the baseline), in the workspace and with <paramref name="includeRoot"/> in the root.</summary>
    public WorkspaceDiff Diff(string idOrName, string? since, bool includeRoot, CancellationToken cancellationToken)
    {
        var root = includeRoot ? WritableRoot(directory.Find(idOrName)) : null;
        return WithCheckpoints(idOrName, checkpoints => checkpoints.Diff(since, cancellationToken, root));
    }

    /// <summary>
    /// Returns the workspace (and with <paramref name="includeRoot"/> the root) to a checkpoint. A
    /// root is reset with the sandbox paused: its processes may hold files of the root open, and
    /// none may write one while it is being put back.
    /// </summary>
    public async Task<WorkspaceDiff> ResetAsync(string idOrName, string? to, bool includeRoot, CancellationToken cancellationToken)
    {
        if (!includeRoot)
        {
            return WithCheckpoints(idOrName, checkpoints => checkpoints.Reset(to, cancellationToken));
        }
        var record = directory.Find(idOrName);
        var root = WritableRoot(record);
        return await PausedAsync(record, () => WithCheckpoints(idOrName, checkpoints => checkpoints.Reset(to, cancellationToken, root)), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="action"/> on the sandbox's checkpoints.</summary>
    public T WithCheckpoints<T>(string idOrName, Func<CheckpointStore, T> action)
    {
        using var workspace = OpenWorkspace(idOrName);
        using var checkpoints = OpenCheckpoints(idOrName, workspace);
        return action(checkpoints);
    }

    /// <summary>Runs <paramref name="action"/> with a running sandbox paused.</summary>
    private async Task<T> PausedAsync<T>(SandboxRecord record, Func<T> action, CancellationToken cancellationToken)
    {
        var paused = record.State == SandboxStates.Running && await runtime.PauseAsync(record.Id, cancellationToken).ConfigureAwait(false);
        try
        {
            return action();
        }
        finally
        {
            if (paused)
            {
                await runtime.ResumeAsync(record.Id).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The sandbox's writable root; root_not_writable for a sandbox on the host's read-only root.</summary>
    private IWritableRoot WritableRoot(SandboxRecord record) =>
        roots?.Writable(record) ?? throw new HutchException(ErrorCodes.RootNotWritable,
            $"Sandbox '{record.Name ?? record.Id}' runs on the host's read-only root: only /workspace changes, so there is no root to include. Create it from a template (--template) to have one.");
}
