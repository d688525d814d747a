using Hutch.Protocol.Api;

namespace Hutch.Files;

/// <summary>
/// A refused or failed file operation with a stable <see cref="ErrorCodes"/> code, the HTTP status it
/// maps to, and a message that tells the caller (often a language model) what to do instead.
/// </summary>
public sealed class WorkspaceException(string code, int status, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string Code { get; } = code;
    public int Status { get; } = status;

    public static WorkspaceException BadRequest(string code, string message) => new(code, 400, message);
}
