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
        catch (AgentException e)
        {
            throw AgentFailures.RequestRefused(live, id, e.Error);
        }
        catch (Exception e) when (AgentFailures.IsDeadConnection(e))
        {
            throw AgentFailures.Died(live, e.Message);
        }
    }

    public static HutchException NotRunning(string id) => AgentFailures.ProcessNotRunning(id);
}
