using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;
using Hutch.Runtime.AgentLink;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// The one translation from a sandbox agent's failures to the API's errors: a refusal to start
/// something (the same codes, statuses and advice for an exec, a background process, a session, a
/// service or a shell), and a control connection that died under a request.
/// </summary>
internal static class AgentFailures
{
    /// <param name="what">What was being started, as the message says it: "command", "process".</param>
    public static HutchException StartRefused(LiveSandbox live, string cwd, AgentError error, string what) => error.Code switch
    {
        AgentErrorCodes.CommandNotFound => new HutchException(ErrorCodes.CommandNotFound, $"{error.Message}. Check the program's name, or install it in the sandbox first."),
        AgentErrorCodes.PermissionDenied => new HutchException(ErrorCodes.PermissionDenied, $"{error.Message}."),
        AgentErrorCodes.CwdNotFound => new HutchException(ErrorCodes.CwdNotFound,
            $"The working directory {cwd} does not exist in sandbox {live.Record.Id}. Create it first (mkdir -p) or pick another cwd."),
        AgentErrorCodes.SpawnFailed when error.Message.Contains("errno 11", StringComparison.Ordinal) => new HutchException(ErrorCodes.SpawnFailed,
            $"The {what} could not be started: sandbox {live.Record.Id} is at its pids limit ({live.Record.Limits.Pids} processes and threads). " +
            "Wait for processes to end or kill them, or create the sandbox with a higher limits.pids."),
        AgentErrorCodes.SpawnFailed => new HutchException(ErrorCodes.SpawnFailed, $"The {what} could not be started: {error.Message}."),
        AgentConnection.SandboxDiedCode => Died(live, error.Message),
        _ => new HutchException(ErrorCodes.Internal, $"The sandbox agent refused the {what}: {error.Message} ({error.Code})."),
    };

    /// <summary>A refused request about a running process (input, a signal, a resize).</summary>
    public static HutchException RequestRefused(LiveSandbox live, string processId, AgentError error) => error.Code switch
    {
        AgentErrorCodes.ProcessNotRunning => ProcessNotRunning(processId),
        AgentErrorCodes.NoStdin => new HutchException(ErrorCodes.NoStdin, $"Process {processId} was started without stdin. Start it with \"stdin\": true to write to it."),
        _ => Died(live, error.Message), // the agent's channel ended or broke under the request
    };

    public static HutchException ProcessNotRunning(string processId) =>
        new(ErrorCodes.ProcessNotRunning, $"Process {processId} is not running any more. Read its exit with GET …/processes/{processId} (or `hutch proc ls ID`).");

    /// <summary>The ways a request to the agent fails when its control connection is gone: the sandbox stopped.</summary>
    public static bool IsDeadConnection(Exception e) =>
        e is AgentException or IOException or ObjectDisposedException or System.Net.Sockets.SocketException;

    public static HutchException Died(LiveSandbox live, string why) =>
        new(ErrorCodes.SandboxDied, $"The sandbox {live.Record.Id} stopped ({why}). Create a new sandbox.");
}
