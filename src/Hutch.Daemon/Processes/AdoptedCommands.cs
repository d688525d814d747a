using Hutch.Protocol.Agent;
using Hutch.Daemon.Registry;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Processes;

/// <summary>
/// At adoption, the commands of execs that outlived the previous daemon: the agent carried each on
/// as a background process when its connection closed, and this says so once.
/// </summary>
public sealed class AdoptedCommands(ProcessManager processes, SandboxEvents events, ILogger log) : ISandboxObserver
{
    public void Adopted(SandboxRecord record) => Report(record.Id);

    public Task DeletingAsync(string sandboxId) => Task.CompletedTask;

    /// <summary>
    /// Says (in the log and the sandbox's events, once each) which commands of execs outlived the
    /// previous daemon: the agent carried each on as a background process when its connection closed.
    /// </summary>
    private void Report(string sandboxId)
    {
        foreach (var snapshot in ProcessManager.Snapshots(processes.Records(sandboxId)))
        {
            var start = snapshot.Start;
            if (start.Origin != ProcessOrigins.Exec || events.Has(sandboxId, SandboxEventTypes.CommandAdopted, start.Id))
            {
                continue;
            }
            var command = string.Join(' ', start.Argv);
            command = command.Length <= 200 ? command : command[..200] + "…";
            Log.CommandAdopted(log, sandboxId, command, start.Pid, start.Id);
            events.Record(sandboxId, SandboxEventTypes.CommandAdopted,
                $"The command '{command}' (pid {start.Pid}) of an exec was still running when the daemon stopped; it carries on as background process {start.Id} " +
                $"(its output from then on is in its log). List it with GET /v1/sandboxes/{sandboxId}/processes, stop it with POST /v1/sandboxes/{sandboxId}/processes/{start.Id}/kill.",
                start.Id);
        }
    }
}
