using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Services;

/// <summary>Checks a create request and fills in every default, so a record holds a complete spec.</summary>
internal static class ServiceValidator
{
    public static ServiceSpec Spec(CreateServiceRequest request)
    {
        if (!ProcessRecords.IsValidId(request.Name) || request.Name.Length > 48)
        {
            throw new HutchException(ErrorCodes.InvalidName, $"The service name '{request.Name}' is not allowed. Use 1-48 of a-z, 0-9, '-' and '_'.");
        }
        var argv = RequestValidator.Argv(request.Argv, request.Command);
        RequestValidator.Env(request.Env, "env");
        if (request.Cwd is not null)
        {
            WorkspaceCwd.Resolve(request.Cwd);
        }
        var maxLog = RequestValidator.MaxLogBytes(request.MaxLogBytes);
        return new ServiceSpec(request.Name, argv, request.Cwd, request.Env, Probe(request.Probe), Restart(request.Restart), maxLog, request.Secrets);
    }

    private static ProbeSpec? Probe(ProbeSpec? probe)
    {
        if (probe is null)
        {
            return null;
        }
        var interval = probe.IntervalMs ?? 200;
        var timeout = probe.TimeoutMs ?? 30_000;
        if (interval is < 10 or > 60_000 || timeout is < 1 or > 3_600_000)
        {
            throw Invalid($"probe.intervalMs must be 10-60000 and probe.timeoutMs 1-3600000; they were {interval} and {timeout}.");
        }
        probe = probe with { IntervalMs = interval, TimeoutMs = timeout };
        switch (probe.Type)
        {
            case ProbeTypes.File when !string.IsNullOrEmpty(probe.Path) && !probe.Path.Contains('\0'):
                return probe with { Port = null, Command = null };
            case ProbeTypes.File:
                throw Invalid("A file probe needs path: the file whose existence means ready, like \"/tmp/ready\".");
            case ProbeTypes.Tcp when probe.Port is >= 1 and <= 65535:
                return probe with { Path = null, Command = null };
            case ProbeTypes.Http when probe.Port is >= 1 and <= 65535:
                var path = probe.Path ?? "/";
                if (!path.StartsWith('/') || path.Any(char.IsWhiteSpace))
                {
                    throw Invalid($"An http probe's path must start with '/' and hold no spaces; it was '{path}'.");
                }
                return probe with { Path = path, Command = null };
            case ProbeTypes.Tcp or ProbeTypes.Http:
                throw Invalid($"A {probe.Type} probe needs port between 1 and 65535.");
            case ProbeTypes.Command when !string.IsNullOrWhiteSpace(probe.Command):
                return probe with { Path = null, Port = null };
            case ProbeTypes.Command:
                throw Invalid("A command probe needs command: a shell line that exits 0 once the service is ready.");
            default:
                throw Invalid($"The probe type '{probe.Type}' is not known. Use file, tcp, http or command.");
        }
    }

    private static RestartPolicy Restart(RestartPolicy? restart)
    {
        switch (restart?.Policy)
        {
            case null or "never":
                return new RestartPolicy("never", 0);
            case "on-failure" when restart.MaxRestarts is null or (>= 0 and <= 100):
                return new RestartPolicy("on-failure", restart.MaxRestarts ?? 3);
            case "on-failure":
                throw new HutchException(ErrorCodes.InvalidRestartPolicy, $"restart.maxRestarts must be between 0 and 100; it was {restart.MaxRestarts}.");
            default:
                throw new HutchException(ErrorCodes.InvalidRestartPolicy, $"The restart policy '{restart.Policy}' is not known. Use \"never\" or \"on-failure\".");
        }
    }

    private static HutchException Invalid(string message) => new HutchException(ErrorCodes.InvalidProbe, message);
}
