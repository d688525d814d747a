using Hutch.Daemon.Processes;

namespace Hutch.Daemon.Services;

/// <summary>The runs of a service: background processes under a name no caller may take.</summary>
internal static class ServiceRuns
{
    public const string Prefix = "service-";

    /// <summary>Starts one run of a service (its process name is reserved, so this bypasses the name check).</summary>
    public static Task<ProcessInfo> StartAsync(ProcessManager processes, string sandboxId, ServiceSpec spec, CancellationToken cancellationToken) =>
        processes.StartNamedAsync(sandboxId, new StartProcessRequest(Argv: spec.Argv, Cwd: spec.Cwd, Env: spec.Env, Name: Prefix + spec.Name, MaxLogBytes: spec.MaxLogBytes, Secrets: spec.Secrets), cancellationToken);
}
