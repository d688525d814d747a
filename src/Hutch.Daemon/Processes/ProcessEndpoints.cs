using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Processes;

/// <summary>The /v1/sandboxes/{id}/processes routes (docs/processes.md): thin translations to the engine.</summary>
internal static class ProcessEndpoints
{
    private const long DefaultLogBytes = 1 << 20;
    private const long MaxLogBytes = 16 << 20;

    public static void Map(IEndpointRouteBuilder app, ProcessManager processes, LogReader logs)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}/processes");

        group.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.StartProcessRequest, new StartProcessRequest());
                var info = await processes.StartAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/processes/{info.Id}", info);
            })
            .Accepts<StartProcessRequest>("application/json")
            .WithSummary("Start a background process; its output goes to a durable log");

        group.MapGet("/", (string id) => TypedResults.Ok(new ProcessList([.. processes.List(id)])))
            .WithSummary("List the sandbox's background processes, running and ended");

        group.MapGet("/{process}", (string id, string process) => TypedResults.Ok(processes.Get(id, process)))
            .WithSummary("Get a process (by id or name) with its state and exit status");

        group.MapPost("/{process}/wait", async (string id, string process, long? timeoutMs, CancellationToken ct) =>
                TypedResults.Ok(await processes.WaitAsync(id, process, WaitTimeout.Parse(timeoutMs), ct)))
            .WithSummary("Wait until the process ends (or timeoutMs, default 30000) and return it");

        group.MapPost("/{process}/stdin", async (string id, string process, bool? eof, HttpRequest http, CancellationToken ct) =>
            {
                await processes.WriteStdinAsync(id, process, http.Body, eof ?? false, ct);
                return TypedResults.NoContent();
            })
            .Accepts<byte[]>("application/octet-stream")
            .WithSummary("Write the body to the process's stdin; eof=true closes it after");

        group.MapPost("/{process}/signal", async (string id, string process, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.SignalRequest, new SignalRequest(""));
                return TypedResults.Ok(await processes.SignalAsync(id, process, request.Signal, ct));
            })
            .Accepts<SignalRequest>("application/json")
            .WithSummary("Send a signal to the process's whole tree");

        group.MapPost("/{process}/kill", async (string id, string process, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.KillRequest, new KillRequest());
                return TypedResults.Ok(await processes.KillAsync(id, process, request, ct));
            })
            .Accepts<KillRequest>("application/json")
            .WithSummary("SIGTERM the process tree, SIGKILL what is left after graceMs; returns once it ended");

        group.MapDelete("/{process}", (string id, string process) =>
            {
                processes.Delete(id, process);
                return TypedResults.NoContent();
            })
            .WithSummary("Remove an ended process and its log");

        group.MapGet("/{process}/logs", async (string id, string process, long? cursor, long? maxBytes, string? encoding, HttpContext context) =>
            {
                var limit = maxBytes ?? DefaultLogBytes;
                if (limit < 1 || limit > MaxLogBytes)
                {
                    throw new HutchException(ErrorCodes.LimitOutOfRange, $"maxBytes must be between 1 and {MaxLogBytes}; it was {limit}.");
                }
                var base64 = RequestValidator.Encoding(encoding) == "base64";
                using var window = await logs.ReadWindowAsync(id, process, cursor ?? 0, limit, context.RequestAborted);
                SourceRedacted.Mark(context);
                await LogWindowJson.WriteProcessLogsAsync(context, window, base64);
            })
            .Produces<ProcessLogs>()
            .WithSummary("Read a process's output from a cursor (default 0) up to maxBytes, without waiting");

        group.MapGet("/{process}/logs/stream", (string id, string process, long? cursor, bool? follow, HttpContext context) =>
            {
                SourceRedacted.Mark(context);
                return Ndjson.WriteAsync(context, WireEvents.ToLogEvents(logs.ReadAsync(id, process, cursor ?? 0, follow ?? true, context.RequestAborted)), ApiJsonContext.Default.LogEvent);
            })
            .Produces<LogEvent>(200, "application/x-ndjson")
            .WithSummary("Stream a process's output from a cursor as NDJSON; follows until it ends unless follow=false");
    }
}
