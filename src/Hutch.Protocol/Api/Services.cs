namespace Hutch.Protocol.Api;

/// <summary>Body of <c>POST /v1/sandboxes/{id}/services</c>: a named long-running command with a readiness probe. Give exactly one of Argv or Command.</summary>
/// <param name="Name">1-48 of a-z, 0-9, '-', '_'. A service of that name that is starting or ready gets a 409.</param>
/// <param name="Argv">Program and arguments, run without a shell.</param>
/// <param name="Command">A shell command line, run as <c>/bin/sh -c Command</c>.</param>
/// <param name="Cwd">Working directory, relative to /workspace or absolute inside it; default the sandbox's.</param>
/// <param name="Env">Extra environment, over the sandbox's.</param>
/// <param name="Probe">When the service counts as ready; none: once its run has stayed up for a second.</param>
/// <param name="Restart">What happens when it fails; default never.</param>
/// <param name="MaxLogBytes">Log bytes kept per run (65536-1073741824, default 16 MiB).</param>
/// <param name="Secrets">Stored secrets the service gets as environment variables, besides the sandbox's; kept as references and opened again at each restart (docs/secrets.md).</param>
public sealed record CreateServiceRequest(
    string Name,
    string[]? Argv = null,
    string? Command = null,
    string? Cwd = null,
    Dictionary<string, string>? Env = null,
    ProbeSpec? Probe = null,
    RestartPolicy? Restart = null,
    long? MaxLogBytes = null,
    SecretUse[]? Secrets = null);

/// <summary>
/// A readiness probe. Type file: Path exists (inside the sandbox). tcp: Port accepts a connection.
/// http: GET Path (default "/") on Port answers 2xx or 3xx. command: Command exits 0.
/// </summary>
/// <param name="Type">file, tcp, http or command.</param>
/// <param name="Path">file: the path that must exist; http: the path to GET (default "/").</param>
/// <param name="Port">tcp and http: the port inside the sandbox (1-65535).</param>
/// <param name="Command">command: a shell command line that must exit 0.</param>
/// <param name="IntervalMs">Between attempts (10-60000, default 200).</param>
/// <param name="TimeoutMs">Readiness deadline from each start (1-3600000, default 30000): past it the run is killed and failed.</param>
public sealed record ProbeSpec(string Type, string? Path = null, int? Port = null, string? Command = null, long? IntervalMs = null, long? TimeoutMs = null);

/// <summary>Policy never (default) or on-failure: restart after a failed run (exit not 0, killed, readiness failed), at most MaxRestarts times (0-100, default 3).</summary>
/// <param name="Policy">never or on-failure.</param>
/// <param name="MaxRestarts">on-failure: restarts at most (0-100, default 3).</param>
public sealed record RestartPolicy(string Policy, int? MaxRestarts = null);

/// <summary>A service as it stands.</summary>
/// <param name="Name">Its name, unique in the sandbox.</param>
/// <param name="Argv">What runs: the program and its arguments (a Command as /bin/sh -c …).</param>
/// <param name="Pid">The current run's pid inside the sandbox; null when none runs.</param>
/// <param name="ExitCode">The last run's exit status, once it ended by itself.</param>
/// <param name="Signal">Name of the signal that ended the last run, or null.</param>
/// <param name="StartedAt">When the current (or last) run started.</param>
/// <param name="ReadyAt">When its probe first passed in the current run.</param>
/// <param name="EndedAt">When the last run ended.</param>
/// <param name="Probe">Its readiness probe, defaults filled in.</param>
/// <param name="Restart">Its restart policy, defaults filled in.</param>
/// <param name="State">starting, ready, failed (never ready, or ended with an exit code not 0 or a signal, and not restarted), exited (was ready, then exited 0) or stopped.</param>
/// <param name="StopReason">Why it is not running: exited_before_ready, readiness_timeout, exited, stopped_by_sigterm, killed_by_sigkill.</param>
/// <param name="ProcessId">The background process of the current (or last) run: its logs are at …/processes/{processId}/logs.</param>
/// <param name="Restarts">Restarts so far.</param>
/// <param name="LastProbeError">What the last failed probe attempt saw.</param>
/// <param name="ProbeAttempts">Probe attempts of the current run so far (progress while it is starting).</param>
public sealed record ServiceInfo(
    string Name,
    string State,
    string[] Argv,
    string? ProcessId = null,
    int? Pid = null,
    int Restarts = 0,
    string? StopReason = null,
    int? ExitCode = null,
    string? Signal = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? ReadyAt = null,
    DateTimeOffset? EndedAt = null,
    ProbeSpec? Probe = null,
    RestartPolicy? Restart = null,
    string? LastProbeError = null,
    int ProbeAttempts = 0);

/// <summary>Answer of <c>GET …/services</c>.</summary>
/// <param name="Services">The sandbox's services.</param>
public sealed record ServiceList(ServiceInfo[] Services);

/// <summary>Body of <c>…/stop</c>: SIGTERM, then SIGKILL after GraceMs (0-60000, default 5000).</summary>
/// <param name="GraceMs">Milliseconds between SIGTERM and SIGKILL (0-60000, default 5000).</param>
public sealed record StopServiceRequest(long? GraceMs = null);

/// <summary>Answer of <c>GET …/services/{name}/logs?tail=N</c>: the last lines of the current run's output.</summary>
/// <param name="Stdout">The last lines of stdout.</param>
/// <param name="Stderr">The last lines of stderr.</param>
/// <param name="Service">The service as it stands.</param>
public sealed record ServiceLogs(string Stdout, string Stderr, ServiceInfo Service);

public static class ServiceStates
{
    public const string Starting = "starting";
    public const string Ready = "ready";
    public const string Failed = "failed";
    public const string Exited = "exited";
    public const string Stopped = "stopped";
}

public static class StopReasons
{
    public const string ExitedBeforeReady = "exited_before_ready";
    public const string ReadinessTimeout = "readiness_timeout";
    public const string Exited = "exited";
    public const string StoppedBySigterm = "stopped_by_sigterm";
    public const string KilledBySigkill = "killed_by_sigkill";
}

public static class ProbeTypes
{
    public const string File = "file";
    public const string Tcp = "tcp";
    public const string Http = "http";
    public const string Command = "command";
}
