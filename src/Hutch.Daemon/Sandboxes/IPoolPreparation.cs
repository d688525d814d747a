using Hutch.Daemon.Registry;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// A feature's part of a create that the warm pool can do ahead of the claim, on a template's
/// sandboxes (a template's start command and its probe): the pool does it before it shelves a
/// sandbox, and only a create that asks for nothing it would have had to see takes one.
/// Features register with the pool, so the sandbox folder never depends on them.
/// </summary>
public interface IPoolPreparation
{
    /// <summary>
    /// Whether a create of <paramref name="template"/> ("NAME:VERSION") may take a sandbox prepared
    /// ahead: false when the request gives what the preparation depends on (env, secrets, network,
    /// cwd), so that it is done at the create, seeing them.
    /// </summary>
    bool Fits(CreateSandboxRequest request, string template);

    /// <summary>
    /// Prepares a pooled sandbox of a template (it runs, and <see cref="SandboxDirectory.PoolWork"/> is
    /// in effect). A failure (a HutchException saying why) keeps it off the shelf: the pool deletes it.
    /// </summary>
    Task PrepareAsync(SandboxRecord pooled, CancellationToken cancellationToken);

    /// <summary>Whether a prepared sandbox is still as prepared when it is claimed (its start command still up); one that is not is deleted.</summary>
    bool IsPrepared(SandboxRecord pooled);
}
