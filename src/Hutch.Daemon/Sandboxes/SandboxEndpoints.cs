using Hutch.Daemon.Http;
using Hutch.Daemon.Http.Limits;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Sandboxes;

/// <summary>The /v1/sandboxes routes: thin translations between HTTP and the engine.</summary>
internal static class SandboxEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SandboxLifecycle sandboxes, SandboxEvents events, Func<int> warmPoolReady, string runtimeName)
    {
        var v1 = app.MapGroup("/v1");

        v1.MapGet("/health", () =>
            TypedResults.Ok(new Health("ok", typeof(SandboxEndpoints).Assembly.GetName().Version?.ToString() ?? "0", runtimeName, sandboxes.List().Count, warmPoolReady())))
            .WithSummary("Liveness, version and number of sandboxes");

        var group = v1.MapGroup("/sandboxes");

        group.MapPost("/", async (HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.CreateSandboxRequest, new CreateSandboxRequest());
                var info = await sandboxes.CreateAsync(request, hostWorkspace: null, ct);
                return TypedResults.Created($"/v1/sandboxes/{info.Id}", info);
            })
            .Accepts<CreateSandboxRequest>("application/json")
            .Limited(RequestLimit.Create)
            .WithSummary("Create a sandbox");

        group.MapGet("/", (string[]? label) => TypedResults.Ok(new SandboxList([.. sandboxes.List(label)])))
            .WithSummary("List sandboxes; each label=KEY=VALUE (or label=KEY: set to anything) keeps only those that have it");

        group.MapGet("/{id}", (string id) => TypedResults.Ok(sandboxes.Get(id)))
            .WithSummary("Get a sandbox with its live resource usage");

        group.MapPatch("/{id}", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.UpdateSandboxRequest, new UpdateSandboxRequest());
                return TypedResults.Ok(await sandboxes.UpdateAsync(id, request, ct));
            })
            .Accepts<UpdateSandboxRequest>("application/json")
            .WithSummary("Change a sandbox: a new TTL (ttlSeconds) counted from now, a new network policy (network)");

        group.MapGet("/{id}/events", (string id) => TypedResults.Ok(new SandboxEventList([.. events.List(id)])))
            .WithSummary("What happened to a sandbox on the daemon's own account: adopted or lost at a daemon's start, commands carried on as background processes");

        group.MapDelete("/{id}", async Task<Results<NoContent, Accepted>> (string id, bool? keepWorkspace, bool? wait, HttpContext http, CancellationToken ct) =>
            {
                if (wait == false)
                {
                    var teardown = sandboxes.BeginDelete(id, keepWorkspace ?? false);
                    http.Response.OnCompleted(() => { teardown(); return Task.CompletedTask; }); // the answer first
                    return TypedResults.Accepted((string?)null);
                }
                await sandboxes.DeleteAsync(id, keepWorkspace ?? false, ct);
                return TypedResults.NoContent();
            })
            .WithSummary("Delete a sandbox (idempotent); with wait=false, answer 202 at once and finish in the background (the sandbox is 'deleting' meanwhile)");
    }
}
