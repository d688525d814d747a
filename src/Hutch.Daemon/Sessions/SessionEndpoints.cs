using Hutch.Daemon.Http.Limits;
using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Sessions;

/// <summary>The /v1/sandboxes/{id}/sessions routes (docs/sessions.md).</summary>
internal static class SessionEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SessionService sessions, RequestLimits limits)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}/sessions");

        group.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.CreateSessionRequest, new CreateSessionRequest());
                var info = await sessions.CreateAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/sessions/{info.Name}", info);
            })
            .Accepts<CreateSessionRequest>("application/json")
            .WithSummary("Start a session: a persistent shell whose cwd, variables and functions carry over between commands");

        group.MapGet("/", (string id) => TypedResults.Ok(new SessionList([.. sessions.List(id)])))
            .WithSummary("List the sandbox's sessions");

        group.MapGet("/{session}", (string id, string session) => TypedResults.Ok(sessions.Get(id, session)))
            .WithSummary("Get a session");

        group.MapPost("/{session}/exec", async (string id, string session, HttpContext context) =>
            {
                var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.SessionExecRequest, new SessionExecRequest(""));
                using var result = await sessions.ExecAsync(id, session, request, context.RequestAborted);
                SourceRedacted.Mark(context);
                await ExecResultJson.WriteAsync(context, result);
            })
            .Accepts<SessionExecRequest>("application/json")
            .Produces<ExecResult>()
            .RunsACommand(limits)
            .WithSummary("Run a command line in the session's shell, after the ones before it, and return its output");

        group.MapDelete("/{session}", async (string id, string session, CancellationToken ct) =>
            {
                await sessions.DeleteAsync(id, session, ct);
                return TypedResults.NoContent();
            })
            .WithSummary("End a session: its shell and every process it started are killed");
    }
}
