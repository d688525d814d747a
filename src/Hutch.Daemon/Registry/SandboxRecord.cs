using Hutch.Protocol.Api;

namespace Hutch.Daemon.Registry;

/// <summary>One row of the registry: what Hutch must know about a sandbox to find, adopt and delete it.</summary>
/// <param name="HostIdBase">First host uid of the sandbox's user namespace range (unique among live sandboxes).</param>
/// <param name="HostWorkspace">A caller's host directory bound as /workspace (never deleted), else null.</param>
/// <param name="Owner">"daemon", or "run:PID" for a sandbox of an in-process `hutch run` that a daemon must leave alone.</param>
/// <param name="ExpiresAt">The wall-clock time the TTL ended at when it was set (shown; <paramref name="Deadline"/> decides).</param>
/// <param name="Deadline">When the TTL ends on the boot clock; null for no TTL (or a row from before deadlines, which ExpiresAt decides).</param>
/// <param name="Labels">The caller's labels; null for none.</param>
/// <param name="HostWorkspaceOwner">"uid:gid" of who lent <paramref name="HostWorkspace"/>: what the sandbox made there is theirs after it.</param>
/// <param name="Network">Its network policy, normalized; null for mode none (nothing leaves).</param>
/// <param name="Template">"NAME:VERSION" of the template its root is made from; null for the host's root.</param>
/// <param name="MountPoints">
/// Paths inside, beyond /bundles, that the sandbox binds at start from host directories that receive
/// mounts by propagation (bundles at paths of their own, docs/bundles.md); null for none.
/// </param>
public sealed record SandboxRecord(
    string Id,
    string? Name,
    string State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    string User,
    string Cwd,
    Dictionary<string, string> Env,
    SandboxLimits Limits,
    int HostIdBase,
    string? HostWorkspace,
    string Owner,
    TtlDeadline? Deadline = null,
    Dictionary<string, string>? Labels = null,
    string? HostWorkspaceOwner = null,
    NetworkPolicy? Network = null,
    string? Template = null,
    string[]? MountPoints = null)
{
    /// <summary>Whether the TTL has ended: on the boot clock, or by the wall clock for a row written before deadlines.</summary>
    public bool HasExpired(DateTimeOffset now) => Deadline is { } d ? d.HasPassed : ExpiresAt is { } e && e <= now;

    /// <summary>When the TTL ends as the wall clock reads now (it follows the wall clock if that was set since).</summary>
    public DateTimeOffset? ExpiresAtFrom(DateTimeOffset now) => Deadline is { } d ? now + d.Remaining : ExpiresAt;

    /// <summary>The uid of the sandbox's user inside: 1000, or 0 for `user: root`.</summary>
    public int SandboxUid => User == "root" ? 0 : 1000;

    /// <summary>The same user as the host sees it: shifted into the sandbox's id range.</summary>
    public int HostUid => HostIdBase + SandboxUid;
}
