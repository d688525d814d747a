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
public sealed class TemplateStart(TemplateStore templates, ServiceManager services) : ISandboxSetting
{
    /// <summary>The service's name in each sandbox: `hutch service logs ID start` shows its output.</summary>
    public const string ServiceName = "start";

    private static readonly TimeSpan DefaultReadiness = TimeSpan.FromSeconds(30);

    public void Validate(CreateSandboxRequest request)
    {
    }

    public async Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        if (record.Template is not { } reference || reference.StartsWith(TemplateStore.BuildReferencePrefix, StringComparison.Ordinal)
            || templates.ResolveStored(reference).Manifest is not { Start: { Length: > 0 } start } manifest)
        {
            return record;
        }
        await services.CreateAsync(record.Id, new CreateServiceRequest(ServiceName, Argv: start, Probe: manifest.Readiness), cancellationToken).ConfigureAwait(false);
        var wait = (manifest.Readiness?.TimeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : DefaultReadiness) + TimeSpan.FromSeconds(5);
        var status = await services.WaitAsync(record.Id, ServiceName, wait, cancellationToken).ConfigureAwait(false);
        // Ready; or, with no probe, a start that ran to its end with exit 0 (a setup step, not a server).
        if (status.State != ServiceStates.Ready && !(manifest.Readiness is null && status.ExitCode == 0))
        {
            var logs = await services.LogsAsync(record.Id, ServiceName, tail: 20, cancellationToken).ConfigureAwait(false);
            throw new HutchException(ErrorCodes.TemplateStartFailed,
                $"template {reference}: its start command ({string.Join(' ', start)}) is {status.State}, not ready"
                + (status.ExitCode is { } code ? $" (exit {code})" : "") + $"; its last output:\n{logs.Stdout}{logs.Stderr}");
        }
        return record;
    }

    public Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken) => Task.CompletedTask;
}
