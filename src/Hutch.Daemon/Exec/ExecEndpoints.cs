using Hutch.Daemon.Http;
using Hutch.Daemon.Http.Limits;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Exec;

/// <summary>The /v1/sandboxes/{id}/exec routes (docs/exec.md): a command's result collected, or its events streamed as NDJSON.</summary>
internal static class ExecEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ExecService exec, RequestLimits limits)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}");

        group.MapPost("/exec", async (string id, HttpContext context) =>
            {
                var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.ExecRequest, new ExecRequest());
                using var result = await exec.CollectAsync(id, request, CommandSlots.Of(context), context.RequestAborted);
                await ExecResultJson.WriteAsync(context, result);
            })
            .Accepts<ExecRequest>("application/json")
            .Produces<ExecResult>()
            .RunsACommand(limits)
            .WithSummary("Run a command and return its collected output");

        group.MapPost("/exec/stream", StreamAsync)
            .Accepts<ExecRequest>("application/json")
            .Produces<ExecEvent>(200, "application/x-ndjson")
            .RunsACommand(limits)
            .WithSummary("Run a command and stream start/stdout/stderr/exit events as NDJSON");

        async Task StreamAsync(string id, HttpContext context)
        {
            var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.ExecRequest, new ExecRequest());
            await Ndjson.WriteAsync(context, WireEvents.ToExecEvents(exec.StreamAsync(id, request, CommandSlots.Of(context), context.RequestAborted)), ApiJsonContext.Default.ExecEvent);
        }
    }
}
