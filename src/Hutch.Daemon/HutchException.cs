using Hutch.Protocol.Api;

namespace Hutch.Daemon;

/// <summary>
/// An expected failure with a stable code (one of <see cref="ErrorCodes"/>), the HTTP status it maps
/// to, and a message that tells the caller what to do instead. Never carries a secret.
/// </summary>
public sealed class HutchException(string code, int status, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
    public int Status { get; } = status;

    public static HutchException BadRequest(string code, string message) => new(code, 400, message);
    public static HutchException NotFound(string idOrName) =>
        new(ErrorCodes.SandboxNotFound, 404, $"No sandbox has the id or name '{idOrName}'. List sandboxes with GET /v1/sandboxes (or `hutch ls`).");
    public static HutchException Conflict(string code, string message) => new(code, 409, message);
}
