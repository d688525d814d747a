using Hutch.Daemon.Engine;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Http;

/// <summary>The /v1/sandboxes/{id}/processes routes (docs/processes.md): thin translations to the engine.</summary>
internal static class ProcessEndpoints
{
    private const long DefaultLogBytes = 1 << 20;
    private const long MaxLogBytes = 16 << 20;

    public static void Map(IEndpointRouteBuilder app, SandboxEngine engine)
    {
        var processes = app.MapGroup("/v1/sandboxes/{id}/processes");

        processes.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.StartProcessRequest, new StartProcessRequest());
                var info = await engine.StartProcessAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/processes/{info.Id}", info);
            })
            .Accepts<StartProcessRequest>("application/json")
            .WithSummary("Start a background process; its output goes to a durable log");

        processes.MapGet("/", async (string id, CancellationToken ct) => TypedResults.Ok(new ProcessList([.. await engine.ListProcessesAsync(id, ct)])))
            .WithSummary("List the sandbox's background processes, running and ended");

        processes.MapGet("/{process}", async (string id, string process, CancellationToken ct) => TypedResults.Ok(await engine.GetProcessAsync(id, process, ct)))
            .WithSummary("Get a process (by id or name) with its state and exit status");

        processes.MapPost("/{process}/wait", async (string id, string process, long? timeoutMs, CancellationToken ct) =>
                TypedResults.Ok(await engine.WaitProcessAsync(id, process, WaitTimeout.Parse(timeoutMs), ct)))
            .WithSummary("Wait until the process ends (or timeoutMs, default 30000) and return it");

        processes.MapPost("/{process}/stdin", async (string id, string process, bool? eof, HttpRequest http, CancellationToken ct) =>
            {
                await engine.WriteProcessStdinAsync(id, process, http.Body, eof ?? false, ct);
                return TypedResults.NoContent();
            })
            .Accepts<byte[]>("application/octet-stream")
            .WithSummary("Write the body to the process's stdin; eof=true closes it after");

        processes.MapPost("/{process}/signal", async (string id, string process, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.SignalRequest, new SignalRequest(""));
                return TypedResults.Ok(await engine.SignalProcessAsync(id, process, request.Signal, ct));
            })
            .Accepts<SignalRequest>("application/json")
            .WithSummary("Send a signal to the process's whole tree");

        processes.MapPost("/{process}/kill", async (string id, string process, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.KillRequest, new KillRequest());
                return TypedResults.Ok(await engine.KillProcessAsync(id, process, request, ct));
            })
            .Accepts<KillRequest>("application/json")
            .WithSummary("SIGTERM the process tree, SIGKILL what is left after graceMs; returns once it ended");

        processes.MapDelete("/{process}", async (string id, string process, CancellationToken ct) =>
            {
                await engine.DeleteProcessAsync(id, process, ct);
                return TypedResults.NoContent();
            })
            .WithSummary("Remove an ended process and its log");

        processes.MapGet("/{process}/logs", async (string id, string process, long? cursor, long? maxBytes, string? encoding, HttpContext context) =>
            {
                var limit = maxBytes ?? DefaultLogBytes;
                if (limit < 1 || limit > MaxLogBytes)
                {
                    throw HutchException.BadRequest(ErrorCodes.LimitOutOfRange, $"maxBytes must be between 1 and {MaxLogBytes}; it was {limit}.");
                }
                var base64 = RequestValidator.Encoding(encoding) == "base64";
                using var window = await engine.ReadLogWindowAsync(id, process, cursor ?? 0, limit, context.RequestAborted);
                await LogWindowJson.WriteProcessLogsAsync(context, window, base64);
            })
            .Produces<ProcessLogs>()
            .WithSummary("Read a process's output from a cursor (default 0) up to maxBytes, without waiting");

        processes.MapGet("/{process}/logs/stream", (string id, string process, long? cursor, bool? follow, HttpContext context) =>
                Ndjson.WriteAsync(context, engine.ReadProcessLogAsync(id, process, cursor ?? 0, follow ?? true, context.RequestAborted), ApiJsonContext.Default.LogEvent))
            .Produces<LogEvent>(200, "application/x-ndjson")
            .WithSummary("Stream a process's output from a cursor as NDJSON; follows until it ends unless follow=false");
    }
}
