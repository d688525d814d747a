using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Mcp;

/// <summary>
/// What a model should do next after an error, in terms of this server's tools (the daemon's own
/// message says what went wrong in terms of its API). Null where the message is all there is to say.
/// </summary>
internal static class McpHints
{
    public static string? For(string code) => code switch
    {
        ErrorCodes.SandboxNotFound => "call `sandboxes` to see the sandboxes there are, or leave `sandbox` out to use this session's own",
        ErrorCodes.SandboxExpired => "its TTL ran out and it is gone: leave `sandbox` out to get a new one for this session",
        ErrorCodes.PathNotFound => "call `ls` on its folder to see what is there",
        ErrorCodes.PathOutsideWorkspace => "paths are relative to /workspace (or absolute inside it)",
        ErrorCodes.CheckpointNotFound => "call `checkpoint` to make one first, or leave `name` out for the newest",
        ErrorCodes.RateLimited => "too many commands at once: wait a moment and call again",
        ClientErrorCodes.DaemonUnreachable => "the Hutch daemon is not running: start it with `hutch serve`",
        McpCodes.InvalidArgument => "fix the argument named and call again",
        ErrorCodes.OutputNotFound => "kept outputs are the last 8 per sandbox: run the command again",
        ErrorCodes.CommandNotFound => "that program is not installed in the sandbox: `exec` `ls /usr/bin` shows what is",
        _ => null,
    };
}

/// <summary>Codes of errors this server finds itself, before asking the daemon.</summary>
public static class McpCodes
{
    /// <summary>An argument is missing, of the wrong shape or out of range.</summary>
    public const string InvalidArgument = "invalid_argument";
}
