using Hutch.Protocol.Api;

namespace Hutch.Files;

/// <summary>
/// A refused or failed file operation with a stable <see cref="ErrorCodes"/> code and a message that
/// tells the caller (often a language model) what to do instead.
/// </summary>
public sealed class WorkspaceException(string code, string message, Exception? inner = null) : CodedException(code, message, inner);
