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
public sealed class FileService(SandboxDirectory directory, SandboxStorage storage, OciRuntime runtime, HutchOptions options, SandboxEvents? events = null)
{
    /// <summary>The sandbox's workspace, pinned for file operations. Dispose it when done.</summary>
    /// <exception cref="HutchException">sandbox_not_found.</exception>
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
    /// Records a checkpoint of a consistent workspace: a running sandbox is paused (cgroup freezer)
    /// while its files are captured, as `docker commit` does, so no file is caught half-written and
    /// all of them are from one moment. A capture of reflinks takes milliseconds; runc's pause and
    /// resume add ~20 ms.
    /// </summary>
    public async Task<CheckpointInfo> CreateCheckpointAsync(string idOrName, string name, CancellationToken cancellationToken)
    {
        CheckpointName.Validate(name);
        var record = directory.Find(idOrName);
        var paused = record.State == SandboxStates.Running && await runtime.PauseAsync(record.Id, cancellationToken).ConfigureAwait(false);
        try
        {
            return WithCheckpoints(idOrName, checkpoints => checkpoints.Create(name, cancellationToken));
        }
        finally
        {
            if (paused)
            {
                await runtime.ResumeAsync(record.Id).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> on the sandbox's checkpoints.</summary>
    public T WithCheckpoints<T>(string idOrName, Func<CheckpointStore, T> action)
    {
        using var workspace = OpenWorkspace(idOrName);
        using var checkpoints = OpenCheckpoints(idOrName, workspace);
        return action(checkpoints);
    }
}
