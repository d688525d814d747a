namespace Hutch.Daemon;

/// <summary>
/// A failure of the daemon's engine with a stable code (one of <see cref="ErrorCodes"/>) and a
/// message that tells the caller what to do instead. The HTTP edge gives it its status
/// (<see cref="ErrorStatus"/>).
/// </summary>
public sealed class HutchException(string code, string message, Exception? inner = null) : CodedException(code, message, inner)
{
    public static HutchException NotFound(string idOrName) =>
        new(ErrorCodes.SandboxNotFound, $"No sandbox has the id or name '{idOrName}'. List sandboxes with GET /v1/sandboxes (or `hutch ls`).");
}
