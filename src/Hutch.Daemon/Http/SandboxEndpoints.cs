using Hutch.Daemon.Engine;
using Hutch.Daemon.Http.Limits;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Http;

/// <summary>The /v1/sandboxes routes: thin translations between HTTP and the engine.</summary>
internal static class SandboxEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SandboxEngine engine, string runtimeName, RequestLimits limits)
    {
        var v1 = app.MapGroup("/v1");

        v1.MapGet("/health", async (CancellationToken ct) =>
            TypedResults.Ok(new Health("ok", typeof(SandboxEndpoints).Assembly.GetName().Version?.ToString() ?? "0", runtimeName, (await engine.ListAsync(ct)).Count, engine.WarmPoolReady)))
            .WithSummary("Liveness, version and number of sandboxes");

        var sandboxes = v1.MapGroup("/sandboxes");

        sandboxes.MapPost("/", async (HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.CreateSandboxRequest, new CreateSandboxRequest());
                var info = await engine.CreateAsync(request, cancellationToken: ct);
                return TypedResults.Created($"/v1/sandboxes/{info.Id}", info);
            })
            .Accepts<CreateSandboxRequest>("application/json")
            .Limited(RequestLimit.Create)
            .WithSummary("Create a sandbox");

        sandboxes.MapGet("/", async (CancellationToken ct) => TypedResults.Ok(new SandboxList([.. await engine.ListAsync(ct)])))
            .WithSummary("List sandboxes");

        sandboxes.MapGet("/{id}", async (string id, CancellationToken ct) => TypedResults.Ok(await engine.GetAsync(id, ct)))
            .WithSummary("Get a sandbox with its live resource usage");

        sandboxes.MapGet("/{id}/events", async (string id, CancellationToken ct) => TypedResults.Ok(new SandboxEventList([.. await engine.ListEventsAsync(id, ct)])))
            .WithSummary("What happened to a sandbox on the daemon's own account: adopted or lost at a daemon's start, commands carried on as background processes");

        sandboxes.MapDelete("/{id}", async (string id, bool? keepWorkspace, CancellationToken ct) =>
            {
                await engine.DeleteAsync(id, keepWorkspace ?? false, ct);
                return TypedResults.NoContent();
            })
            .WithSummary("Delete a sandbox (idempotent)");

        sandboxes.MapPost("/{id}/exec", async (string id, HttpContext context) =>
            {
                var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.ExecRequest, new ExecRequest());
                using var result = await engine.CollectExecAsync(id, request, CommandSlots.Of(context), context.RequestAborted);
                await ExecResultJson.WriteAsync(context, result);
            })
            .Accepts<ExecRequest>("application/json")
            .Produces<ExecResult>()
            .RunsACommand(limits)
            .WithSummary("Run a command and return its collected output");

        sandboxes.MapPost("/{id}/exec/stream", StreamAsync)
            .Accepts<ExecRequest>("application/json")
            .Produces<ExecEvent>(200, "application/x-ndjson")
            .RunsACommand(limits)
            .WithSummary("Run a command and stream start/stdout/stderr/exit events as NDJSON");

        async Task StreamAsync(string id, HttpContext context)
        {
            var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.ExecRequest, new ExecRequest());
            await Ndjson.WriteAsync(context, engine.ExecStreamAsync(id, request, CommandSlots.Of(context), context.RequestAborted), ApiJsonContext.Default.ExecEvent);
        }
    }
}
