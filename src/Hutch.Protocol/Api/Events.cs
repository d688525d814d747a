namespace Hutch.Protocol.Api;

/// <summary>
/// Something that happened to a sandbox that no request of the caller's was answered with: what a
/// restarted daemon found, or did, on its own. Newest last; the last 100 are kept, and all go with
/// the sandbox.
/// </summary>
/// <param name="At">When it happened.</param>
/// <param name="Type">adopted, lost or command_adopted (<see cref="SandboxEventTypes"/>).</param>
/// <param name="Message">What happened, for a person.</param>
/// <param name="ProcessId">The background process it concerns, if any.</param>
public sealed record SandboxEvent(DateTimeOffset At, string Type, string Message, string? ProcessId = null);

/// <summary>Answer of <c>GET /v1/sandboxes/{id}/events</c>.</summary>
/// <param name="Events">The events, oldest first.</param>
public sealed record SandboxEventList(SandboxEvent[] Events);

public static class SandboxEventTypes
{
    /// <summary>A starting daemon found the sandbox running and took it over.</summary>
    public const string Adopted = "adopted";
    /// <summary>A starting daemon found the sandbox's agent gone: only delete works.</summary>
    public const string Lost = "lost";
    /// <summary>
    /// A command started by an exec was still running when its daemon stopped or died: it carries
    /// on as a background process (ProcessId, origin "exec"), listed and stoppable like any other.
    /// </summary>
    public const string CommandAdopted = "command_adopted";
    /// <summary>
    /// Bytes of the workspace left the daemon as they are (a file's content or an export) from a
    /// sandbox that holds secrets: raw downloads are not redacted (docs/secrets.md), so each is recorded.
    /// </summary>
    public const string FileReadRaw = "file_read_raw";
}
