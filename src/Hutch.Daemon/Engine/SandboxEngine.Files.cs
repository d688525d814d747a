using Hutch.Daemon.Registry;
using Hutch.Files;
using Hutch.Files.Archives;
using Hutch.Files.Checkpoints;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Engine;

// Workspace files: the engine only finds the sandbox's host directory and the ids its user has on
// the host; Hutch.Files does the contained work.
public sealed partial class SandboxEngine
{
    /// <summary>The sandbox's workspace, pinned for file operations. Dispose it when done.</summary>
    /// <exception cref="HutchException">sandbox_not_found.</exception>
    public Workspace OpenWorkspace(string idOrName)
    {
        var record = FindLiveRecord(idOrName);
        return new Workspace(WorkspaceDirectory(record), record.HostUid, record.HostUid, EnsureStaging(record));
    }

    /// <summary>
    /// The sandbox's staging directory (<see cref="SandboxPaths.Staging"/>), made when missing; none for
    /// a caller's host directory bound as the workspace (not on the volume: staged beside the targets).
    /// </summary>
    private string? EnsureStaging(SandboxRecord record)
    {
        if (record.HostWorkspace is not null)
        {
            return null;
        }
        return Directory.CreateDirectory(_paths.Staging(record.Id), PrivateFiles.DirectoryMode).FullName;
    }

    /// <summary>
    /// Removes what file operations that never finished left in a sandbox's staging directory (a
    /// daemon killed mid-upload or mid-import): at adoption and at delete, when none can be running.
    /// </summary>
    private void RemoveStaging(string id) => DeleteTree(_paths.Staging(id));

    /// <summary>
    /// At daemon start, before any request: every sandbox's staging is what an operation of a dead
    /// daemon left, except that of a live `hutch run` (its own engine may be writing there now).
    /// </summary>
    private void RemoveAbandonedStaging()
    {
        foreach (var volume in Directory.EnumerateDirectories(_paths.Workspaces))
        {
            var id = Path.GetFileName(volume);
            if (!Directory.Exists(_paths.Staging(id)) || _registry.Find(id) is { } record && IsOwnedByLiveRun(record))
            {
                continue;
            }
            DeleteTree(_paths.Staging(id));
        }
    }

    /// <summary>Unpacks a tar into the workspace, all or nothing; with <paramref name="setBaseline"/> the result becomes the baseline.</summary>
    public async Task<ImportResult> ImportAsync(string idOrName, string directory, Stream archive, bool setBaseline, CancellationToken cancellationToken)
    {
        using var workspace = OpenWorkspace(idOrName);
        var limits = new ImportLimits(Math.Min(_options.MaxFileBytes, ImportLimits.DefaultMaxBytes));
        var result = await ArchiveImporter.ImportAsync(workspace, directory, archive, limits, cancellationToken).ConfigureAwait(false);
        if (setBaseline)
        {
            using var checkpoints = OpenCheckpoints(idOrName, workspace);
            checkpoints.SetBaseline(cancellationToken);
        }
        return result;
    }

    /// <summary>The sandbox's checkpoints over an open workspace. Dispose it when done.</summary>
    public CheckpointStore OpenCheckpoints(string idOrName, Workspace workspace) =>
        new(workspace, _paths.Checkpoints(FindLiveRecord(idOrName).Id));

    /// <summary>
    /// Records a checkpoint of a consistent workspace: a running sandbox is paused (cgroup freezer)
    /// while its files are captured, as `docker commit` does, so no file is caught half-written and
    /// all of them are from one moment. A capture of reflinks takes milliseconds; runc's pause and
    /// resume add ~20 ms.
    /// </summary>
    public async Task<CheckpointInfo> CreateCheckpointAsync(string idOrName, string name, CancellationToken cancellationToken)
    {
        CheckpointName.Validate(name);
        var record = FindLiveRecord(idOrName);
        var paused = record.State == SandboxStates.Running && await _runtime.PauseAsync(record.Id, cancellationToken).ConfigureAwait(false);
        try
        {
            return WithCheckpoints(idOrName, checkpoints => checkpoints.Create(name, cancellationToken));
        }
        finally
        {
            if (paused)
            {
                await _runtime.ResumeAsync(record.Id).ConfigureAwait(false);
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

    private SandboxRecord FindLiveRecord(string idOrName)
    {
        var record = FindRecord(idOrName);
        return record;
    }

    private string WorkspaceDirectory(SandboxRecord record) => record.HostWorkspace ?? _paths.Workspace(record.Id);
}
