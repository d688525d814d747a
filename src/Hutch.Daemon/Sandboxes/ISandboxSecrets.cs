using Hutch.Protocol.Redaction;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// What a sandbox's commands get from the secret store, and what must never leave the daemon in the
/// clear because of it. Secrets/ answers; every feature that starts a command or hands out what a
/// sandbox printed or holds asks, through <see cref="SandboxDirectory.Secrets"/>.
/// </summary>
public interface ISandboxSecrets
{
    /// <summary>The environment variables the sandbox's secrets give a command starting now (values opened now); empty when none.</summary>
    SecretEnvironment EnvOf(string sandboxId);

    /// <summary>
    /// As <see cref="EnvOf"/>, plus <paramref name="commandUses"/> (a process's or service's own,
    /// checked against <paramref name="commandEnv"/> and recorded): their variables are added and
    /// their files written into the sandbox before the command starts.
    /// </summary>
    Task<SecretEnvironment> CommandEnvAsync(LiveSandbox live, SecretUse[]? commandUses,
        IReadOnlyDictionary<string, string>? commandEnv, CancellationToken cancellationToken);

    /// <summary>Every value the sandbox holds or held, to redact from output, logs, messages and file reads.</summary>
    RedactionSet RedactionOf(string sandboxId);

    /// <summary>
    /// The values a command start carries for the agent, which redacts what it writes to logs on disk
    /// (<see cref="Hutch.Protocol.Agent.ExecStart.Redact"/>); null when the sandbox holds none.
    /// </summary>
    RedactedSecret[]? AgentRedactionOf(string sandboxId);

    /// <summary>Whether any sandbox uses a secret at all (when none does, nothing need be looked up).</summary>
    bool InUse { get; }
}

/// <summary>A sandbox with no secrets: nothing added, nothing redacted (an engine without a store, unit tests).</summary>
public sealed class NoSandboxSecrets : ISandboxSecrets
{
    public static NoSandboxSecrets Instance { get; } = new();

    public SecretEnvironment EnvOf(string sandboxId) => SecretEnvironment.Empty;

    public Task<SecretEnvironment> CommandEnvAsync(LiveSandbox live, SecretUse[]? commandUses,
        IReadOnlyDictionary<string, string>? commandEnv, CancellationToken cancellationToken) =>
        commandUses is { Length: > 0 }
            ? throw new HutchException(ErrorCodes.SecretsUnavailable, "This engine has no secret store.")
            : Task.FromResult(EnvOf(live.Record.Id));

    public RedactionSet RedactionOf(string sandboxId) => RedactionSet.Empty;

    public RedactedSecret[]? AgentRedactionOf(string sandboxId) => null;

    public bool InUse => false;
}
