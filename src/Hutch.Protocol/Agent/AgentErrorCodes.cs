namespace Hutch.Protocol.Agent;

/// <summary>
/// The codes of <see cref="AgentError"/>: what a sandbox's agent answers when it refuses a request.
/// One list for both ends; the daemon translates them to the API's codes in one place.
/// </summary>
public static class AgentErrorCodes
{
    public const string BadRequest = "bad_request";
    public const string UnknownFrame = "unknown_frame";
    public const string Unsupported = "unsupported";
    public const string Internal = "internal_error";
    public const string CommandNotFound = "command_not_found";
    public const string PermissionDenied = "permission_denied";
    public const string CwdNotFound = "cwd_not_found";
    public const string SpawnFailed = "spawn_failed";
    public const string ProcessExists = "process_exists";
    public const string ProcessNotRunning = "process_not_running";
    public const string NoStdin = "no_stdin";

    /// <summary>A secret file could not be written (its tmpfs full, or the file system refused).</summary>
    public const string WriteFailed = "write_failed";

    /// <summary>Never sent by an agent: the daemon's side says so when the agent's connection ended under a request.</summary>
    public const string SandboxDied = "sandbox_died";
}
