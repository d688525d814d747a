using Hutch.Protocol.Agent;
using Hutch.Runtime.AgentLink;

namespace Hutch.Daemon.Processes;

/// <summary>Requests about one running process (input, signals, resizes) to its sandbox's agent, with the agent's refusals as the API's errors.</summary>
public static class ProcessRequests
{
    /// <summary>A request about one process to its sandbox's agent, with the agent's refusals as the API's errors.</summary>
    public static async Task SendAsync<T>(LiveSandbox live, string id, FrameKind kind, T payload,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        try
        {
            await live.Connection.RequestAsync(kind, payload, type, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentException e) when (e.Code == "process_not_running")
        {
            throw NotRunning(id);
        }
        catch (AgentException e) when (e.Code == "no_stdin")
        {
            throw HutchException.Conflict(ErrorCodes.NoStdin, $"Process {id} was started without stdin. Start it with \"stdin\": true to write to it.");
        }
        catch (Exception e) when (AgentFailures.IsDeadConnection(e))
        {
            throw AgentFailures.Died(live, e.Message);
        }
    }

    public static HutchException NotRunning(string id) =>
        HutchException.Conflict(ErrorCodes.ProcessNotRunning, $"Process {id} is not running any more. Read its exit with GET …/processes/{id}.");
}
