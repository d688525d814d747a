namespace Hutch.Protocol.Api;

/// <summary>
/// An expected failure with a stable code (one of <see cref="ErrorCodes"/>) and a message that tells
/// the caller what to do instead. Never carries a secret, and never an HTTP status: the API's edge
/// turns the code into one (<see cref="ErrorStatus"/>).
/// </summary>
public abstract class CodedException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;

    /// <summary>Whether the same request may succeed later as it is (something was busy or full for the moment).</summary>
    public virtual bool IsTransient => ErrorStatus.IsTransient(Code);
}
