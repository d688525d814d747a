using Hutch.Daemon.Registry;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// A feature that keeps state of its own per sandbox (supervisors, reports) and must hear when a
/// starting daemon adopts a sandbox or a delete begins. Features register with the lifecycle, so the
/// sandbox folder never depends on them.
/// </summary>
public interface ISandboxObserver
{
    /// <summary>A starting daemon found the sandbox running and connected to it.</summary>
    void Adopted(SandboxRecord record);

    /// <summary>The sandbox is about to be removed: let go of it (its processes die with it).</summary>
    Task DeletingAsync(string sandboxId);
}
