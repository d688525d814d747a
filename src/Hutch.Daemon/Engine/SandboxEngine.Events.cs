using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Engine;

// A sandbox's events: what the daemon found or did on its own (at adoption), kept in the registry.
public sealed partial class SandboxEngine
{
    public Task<IReadOnlyList<SandboxEvent>> ListEventsAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        var record = FindRecord(idOrName);
        return Task.FromResult<IReadOnlyList<SandboxEvent>>(_registry.Events(record.Id));
    }

    private void RecordEvent(string sandboxId, string type, string message, string? processId = null) =>
        _registry.AddEvent(sandboxId, new SandboxEvent(_time.GetUtcNow(), type, message, processId));

    /// <summary>
    /// Says (in the log and the sandbox's events, once each) which commands of execs outlived the
    /// previous daemon: the agent carried each on as a background process when its connection closed.
    /// </summary>
    private void ReportAdoptedCommands(string sandboxId)
    {
        foreach (var snapshot in Snapshots(Records(sandboxId)))
        {
            var start = snapshot.Start;
            if (start.Origin != ProcessOrigins.Exec || _registry.HasEvent(sandboxId, SandboxEventTypes.CommandAdopted, start.Id))
            {
                continue;
            }
            var command = string.Join(' ', start.Argv);
            command = command.Length <= 200 ? command : command[..200] + "…";
            Log.CommandAdopted(_log, sandboxId, command, start.Pid, start.Id);
            RecordEvent(sandboxId, SandboxEventTypes.CommandAdopted,
                $"The command '{command}' (pid {start.Pid}) of an exec was still running when the daemon stopped; it carries on as background process {start.Id} " +
                $"(its output from then on is in its log). List it with GET /v1/sandboxes/{sandboxId}/processes, stop it with POST /v1/sandboxes/{sandboxId}/processes/{start.Id}/kill.",
                start.Id);
        }
    }
}
