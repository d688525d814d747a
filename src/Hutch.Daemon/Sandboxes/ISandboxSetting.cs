using Hutch.Daemon.Registry;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// A feature's part of a sandbox's settings (its network policy, for one): given at create, changed
/// with PATCH. Features register with the lifecycle, so the sandbox folder never depends on them.
/// </summary>
public interface ISandboxSetting
{
    /// <summary>Refuses a bad part of a create request (a HutchException) before anything starts.</summary>
    void Validate(CreateSandboxRequest request);

    /// <summary>
    /// Sets this part up on a sandbox that runs and is the caller's now (started, or claimed from the
    /// pool), before it is handed out. A failure fails the create: the sandbox is deleted.
    /// </summary>
    /// <returns>The record with this part as the registry now keeps it.</returns>
    Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken);

    /// <summary>Applies this part of a PATCH, when it has one (a HutchException for a bad one).</summary>
    Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken);

    /// <summary>Adds what this part knows of a running sandbox to its description (a GET).</summary>
    SandboxInfo Describe(SandboxInfo info) => info;
}
