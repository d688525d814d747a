using Hutch.Daemon.Registry;
using Hutch.Daemon.Sandboxes;
using Hutch.Daemon.Templates;

namespace Hutch.Daemon.Services;

/// <summary>
/// A template's start command (a Dockerfile's ENTRYPOINT and CMD), run as the service "start" of
/// each sandbox made from it, and its readiness probe (HEALTHCHECK CMD), which must pass before the
/// sandbox is handed out: E2B's ready command. A start that fails fails the create, with its output;
/// one with no probe that ends by itself with exit 0 was a setup step, and the create goes on.
/// Build sandboxes never start it (they are the template being made).
/// </summary>
/// <remarks>
/// A template's warm pool runs it ahead (<see cref="IPoolPreparation"/>): a pooled sandbox is shelved
/// with its start command ready, and the claim finds the service there and runs nothing. What ran
/// ahead saw the template's environment, no secret, no network, the user, in /workspace; a create that
/// gives env, secrets, a network policy, a cwd or bundles is not taken from the pool (<see cref="Fits"/>), so
/// its start command runs at the create and sees them.
/// </remarks>
public sealed class TemplateStart(TemplateStore templates, ServiceManager services) : ISandboxSetting, IPoolPreparation
{
    /// <summary>The service's name in each sandbox: `hutch service logs ID start` shows its output.</summary>
    public const string ServiceName = "start";

    private static readonly TimeSpan DefaultReadiness = TimeSpan.FromSeconds(30);

    public void Validate(CreateSandboxRequest request)
    {
    }

    public async Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        if (StartOf(record) is not { } template)
        {
            return record;
        }
        // Claimed from the pool: it ran ahead, and the pool checked at the claim that it is still ready.
        if (!services.List(record.Id).Any(s => s.Name == ServiceName))
        {
            await StartAsync(record, template, cancellationToken).ConfigureAwait(false);
        }
        return record;
    }

    public Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public bool Fits(CreateSandboxRequest request, string template) =>
        templates.ResolveStored(template).Manifest is not { Start.Length: > 0 }
        || (request.Env is null or { Count: 0 } && request.Secrets is null or [] && request.Cwd is null
            && request.Network is null or { Mode: NetworkModes.None, Allow: null or [], Deny: null or [], Preset: null }
            && request.Bundles is null or []);

    public Task PrepareAsync(SandboxRecord pooled, CancellationToken cancellationToken) =>
        StartOf(pooled) is { } template ? StartAsync(pooled, template, cancellationToken) : Task.CompletedTask;

    public bool IsPrepared(SandboxRecord pooled)
    {
        if (StartOf(pooled) is not { } template)
        {
            return true;
        }
        var status = services.List(pooled.Id).FirstOrDefault(s => s.Name == ServiceName);
        return status is not null && IsReady(status, template.Manifest);
    }

    /// <summary>The template of a sandbox that has a start command to run (never a build sandbox's), or null.</summary>
    private TemplateRecord? StartOf(SandboxRecord record) =>
        record.Template is { } reference && !reference.StartsWith(TemplateStore.BuildReferencePrefix, StringComparison.Ordinal)
        && templates.ResolveStored(reference) is { Manifest.Start.Length: > 0 } template ? template : null;

    /// <summary>Starts the service and waits for its probe; template_start_failed, with its last output, when it is not ready.</summary>
    private async Task StartAsync(SandboxRecord record, TemplateRecord template, CancellationToken cancellationToken)
    {
        var manifest = template.Manifest;
        var start = manifest.Start!;
        await services.CreateAsync(record.Id, new CreateServiceRequest(ServiceName, Argv: start, Probe: manifest.Readiness), cancellationToken).ConfigureAwait(false);
        var wait = (manifest.Readiness?.TimeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : DefaultReadiness) + TimeSpan.FromSeconds(5);
        var status = await services.WaitAsync(record.Id, ServiceName, wait, cancellationToken).ConfigureAwait(false);
        if (!IsReady(status, manifest))
        {
            var logs = await services.LogsAsync(record.Id, ServiceName, tail: 20, cancellationToken).ConfigureAwait(false);
            throw new HutchException(ErrorCodes.TemplateStartFailed,
                $"template {template.Reference}: its start command ({string.Join(' ', start)}) is {status.State}, not ready"
                + (status.ExitCode is { } code ? $" (exit {code})" : "") + $"; its last output:\n{logs.Stdout}{logs.Stderr}");
        }
    }

    /// <summary>Ready; or, with no probe, a start that ran to its end with exit 0 (a setup step, not a server).</summary>
    private static bool IsReady(ServiceInfo status, TemplateManifest manifest) =>
        status.State == ServiceStates.Ready || (manifest.Readiness is null && status.ExitCode == 0);
}
