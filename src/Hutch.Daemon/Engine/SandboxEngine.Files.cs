using Hutch.Daemon.Registry;
using Hutch.Files;
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
        return new Workspace(WorkspaceDirectory(record), record.HostUid, record.HostUid);
    }

    private SandboxRecord FindLiveRecord(string idOrName)
    {
        var record = _registry.Find(idOrName);
        if (record is null || record.State is SandboxStates.Deleted or SandboxStates.Pooled)
        {
            throw HutchException.NotFound(idOrName);
        }
        return record;
    }

    private string WorkspaceDirectory(SandboxRecord record) => record.HostWorkspace ?? _paths.Workspace(record.Id);
}
