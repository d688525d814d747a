using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Services;

/// <summary>The /v1/sandboxes/{id}/services routes (docs/services.md).</summary>
internal static class ServiceEndpoints
{

    public static void Map(IEndpointRouteBuilder app, ServiceManager services)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}/services");

        group.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.CreateServiceRequest, new CreateServiceRequest(""));
                var info = await services.CreateAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/services/{info.Name}", info);
            })
            .Accepts<CreateServiceRequest>("application/json")
            .WithSummary("Start a service: a named command with a readiness probe and a restart policy");

        group.MapGet("/", (string id) => TypedResults.Ok(new ServiceList([.. services.List(id)])))
            .WithSummary("List the sandbox's services");

        group.MapGet("/{name}", (string id, string name) => TypedResults.Ok(services.Get(id, name)))
            .WithSummary("Get a service: state, stop reason, restarts, current process");

        group.MapPost("/{name}/wait", async (string id, string name, long? timeoutMs, CancellationToken ct) =>
                TypedResults.Ok(await services.WaitAsync(id, name, WaitTimeout.Parse(timeoutMs), ct)))
            .WithSummary("Wait until the service is ready or has failed (or timeoutMs, default 30000)");

        group.MapGet("/{name}/logs", async (string id, string name, int? tail, CancellationToken ct) =>
                TypedResults.Ok(await services.LogsAsync(id, name, tail ?? 100, ct)))
            .WithSummary("The last lines (tail, default 100) of the current run's stdout and stderr");

        group.MapPost("/{name}/stop", async (string id, string name, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.StopServiceRequest, new StopServiceRequest());
                return TypedResults.Ok(await services.StopAsync(id, name, request, ct));
            })
            .Accepts<StopServiceRequest>("application/json")
            .WithSummary("Stop: SIGTERM, then SIGKILL after graceMs; returns once it stopped");

        group.MapDelete("/{name}", async (string id, string name, CancellationToken ct) =>
            {
                await services.DeleteAsync(id, name, ct);
                return TypedResults.NoContent();
            })
            .WithSummary("Stop the service if it runs and remove it with its logs");
    }
}
