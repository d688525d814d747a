using Hutch.Daemon.Engine;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Http;

/// <summary>The /v1/sandboxes/{id}/services routes (docs/services.md).</summary>
internal static class ServiceEndpoints
{

    public static void Map(IEndpointRouteBuilder app, SandboxEngine engine)
    {
        var services = app.MapGroup("/v1/sandboxes/{id}/services");

        services.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.CreateServiceRequest, new CreateServiceRequest(""));
                var info = await engine.CreateServiceAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/services/{info.Name}", info);
            })
            .Accepts<CreateServiceRequest>("application/json")
            .WithSummary("Start a service: a named command with a readiness probe and a restart policy");

        services.MapGet("/", async (string id, CancellationToken ct) => TypedResults.Ok(new ServiceList([.. await engine.ListServicesAsync(id, ct)])))
            .WithSummary("List the sandbox's services");

        services.MapGet("/{name}", async (string id, string name, CancellationToken ct) => TypedResults.Ok(await engine.GetServiceAsync(id, name, ct)))
            .WithSummary("Get a service: state, stop reason, restarts, current process");

        services.MapPost("/{name}/wait", async (string id, string name, long? timeoutMs, CancellationToken ct) =>
                TypedResults.Ok(await engine.WaitServiceAsync(id, name, WaitTimeout.Parse(timeoutMs), ct)))
            .WithSummary("Wait until the service is ready or has failed (or timeoutMs, default 30000)");

        services.MapGet("/{name}/logs", async (string id, string name, int? tail, CancellationToken ct) =>
                TypedResults.Ok(await engine.ServiceLogsAsync(id, name, tail ?? 100, ct)))
            .WithSummary("The last lines (tail, default 100) of the current run's stdout and stderr");

        services.MapPost("/{name}/stop", async (string id, string name, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.StopServiceRequest, new StopServiceRequest());
                return TypedResults.Ok(await engine.StopServiceAsync(id, name, request, ct));
            })
            .Accepts<StopServiceRequest>("application/json")
            .WithSummary("Stop: SIGTERM, then SIGKILL after graceMs; returns once it stopped");

        services.MapDelete("/{name}", async (string id, string name, CancellationToken ct) =>
            {
                await engine.DeleteServiceAsync(id, name, ct);
                return TypedResults.NoContent();
            })
            .WithSummary("Stop the service if it runs and remove it with its logs");
    }
}
