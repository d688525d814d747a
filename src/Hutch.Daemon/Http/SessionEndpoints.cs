using Hutch.Daemon.Engine;
using Hutch.Daemon.Http.Limits;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Http;

/// <summary>The /v1/sandboxes/{id}/sessions routes (docs/sessions.md).</summary>
internal static class SessionEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SandboxEngine engine, RequestLimits limits)
    {
        var sessions = app.MapGroup("/v1/sandboxes/{id}/sessions");

        sessions.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.CreateSessionRequest, new CreateSessionRequest());
                var info = await engine.CreateSessionAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/sessions/{info.Name}", info);
            })
            .Accepts<CreateSessionRequest>("application/json")
            .WithSummary("Start a session: a persistent shell whose cwd, variables and functions carry over between commands");

        sessions.MapGet("/", async (string id, CancellationToken ct) => TypedResults.Ok(new SessionList([.. await engine.ListSessionsAsync(id, ct)])))
            .WithSummary("List the sandbox's sessions");

        sessions.MapGet("/{session}", async (string id, string session, CancellationToken ct) => TypedResults.Ok(await engine.GetSessionAsync(id, session, ct)))
            .WithSummary("Get a session");

        sessions.MapPost("/{session}/exec", async (string id, string session, HttpContext context) =>
            {
                var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.SessionExecRequest, new SessionExecRequest(""));
                using var result = await engine.SessionExecAsync(id, session, request, context.RequestAborted);
                await ExecResultJson.WriteAsync(context, result);
            })
            .Accepts<SessionExecRequest>("application/json")
            .Produces<ExecResult>()
            .RunsACommand(limits)
            .WithSummary("Run a command line in the session's shell, after the ones before it, and return its output");

        sessions.MapDelete("/{session}", async (string id, string session, CancellationToken ct) =>
            {
                await engine.DeleteSessionAsync(id, session, ct);
                return TypedResults.NoContent();
            })
            .WithSummary("End a session: its shell and every process it started are killed");
    }
}
