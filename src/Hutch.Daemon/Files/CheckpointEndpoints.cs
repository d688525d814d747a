using Hutch.Daemon.Http;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Files;

/// <summary>Checkpoints of a workspace, and diff and reset against one or against the baseline.</summary>
internal static class CheckpointEndpoints
{
    public static void Map(IEndpointRouteBuilder app, FileService files)
    {
        var sandbox = app.MapGroup("/v1/sandboxes/{id}");

        sandbox.MapPost("/checkpoints", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.CreateCheckpointRequest, new CreateCheckpointRequest());
                var info = await files.CreateCheckpointAsync(id, request.Name, request.IncludeRoot, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/checkpoints/{info.Name}", info);
            })
            .Accepts<CreateCheckpointRequest>("application/json")
            .WithSummary("Record the workspace (and with includeRoot the sandbox's root) as a named checkpoint; the sandbox is paused meanwhile, so it is consistent");

        sandbox.MapGet("/checkpoints", (string id) => TypedResults.Ok(new CheckpointList(files.WithCheckpoints(id, c => c.List()))))
            .WithSummary("List the named checkpoints");

        sandbox.MapDelete("/checkpoints/{name}", (string id, string name) =>
            {
                files.WithCheckpoints(id, c =>
                {
                    c.Delete(name);
                    return 0;
                });
                return TypedResults.NoContent();
            })
            .WithSummary("Delete a named checkpoint");

        sandbox.MapGet("/diff", (string id, string? since, bool? includeRoot, CancellationToken ct) => TypedResults.Ok(files.Diff(id, since, includeRoot ?? false, ct)))
            .WithSummary("Paths added, modified and deleted since a checkpoint (default: the baseline); with includeRoot also in the sandbox's root");

        sandbox.MapPost("/reset", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.ResetRequest, new ResetRequest());
                return TypedResults.Ok(await files.ResetAsync(id, request.To, request.IncludeRoot, ct));
            })
            .Accepts<ResetRequest>("application/json")
            .WithSummary("Return the workspace (and with includeRoot the sandbox's root) to a checkpoint (default: the baseline); answers what was undone");
    }
}
