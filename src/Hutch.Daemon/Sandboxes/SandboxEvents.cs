using Hutch.Daemon.Registry;

namespace Hutch.Daemon.Sandboxes;

/// <summary>A sandbox's events: what the daemon found or did on its own (at adoption), kept in the registry.</summary>
public sealed class SandboxEvents(SandboxDirectory directory, TimeProvider time)
{
    private SandboxRegistry Registry => directory.Registry;

    public IReadOnlyList<SandboxEvent> List(string idOrName) => Registry.Events(directory.Find(idOrName).Id);

    public void Record(string sandboxId, string type, string message, string? processId = null) =>
        Registry.AddEvent(sandboxId, new SandboxEvent(time.GetUtcNow(), type, message, processId));

    /// <summary>Whether the sandbox already has this event (about this process), so a report is made once.</summary>
    public bool Has(string sandboxId, string type, string processId) => Registry.HasEvent(sandboxId, type, processId);
}
