using Hutch.Daemon.Http.Limits;
using Hutch.Daemon.Http;
using Hutch.Daemon.Processes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Shells;

/// <summary>The /v1/sandboxes/{id}/shells routes (docs/shells.md): thin translations to the engine.</summary>
internal static class ShellEndpoints
{
    private const long DefaultOutputBytes = 1 << 20;
    private const long MaxOutputBytes = 16 << 20;

    public static void Map(IEndpointRouteBuilder app, ShellService shells, LogReader logs, HutchOptions options)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}/shells");

        group.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.OpenShellRequest, new OpenShellRequest());
                var info = await shells.OpenAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/shells/{info.Id}", info);
            })
            .Accepts<OpenShellRequest>("application/json")
            .WithSummary("Open a shell on a pseudo-terminal (bash -l by default); it lives on until it exits or is closed");

        group.MapGet("/", (string id) => TypedResults.Ok(new ShellList([.. shells.List(id)])))
            .WithSummary("List the sandbox's shells, open and ended");

        group.MapGet("/{shell}", (string id, string shell) => TypedResults.Ok(shells.Get(id, shell)))
            .WithSummary("Get a shell (by id or name): state, exit status and terminal size");

        group.MapPost("/{shell}/input", async (string id, string shell, HttpRequest http, CancellationToken ct) =>
            {
                await shells.WriteInputAsync(id, shell, http.Body, ct);
                return TypedResults.NoContent();
            })
            .Accepts<byte[]>("application/octet-stream")
            .WithSummary("Write the body to the shell's terminal, as typed keys (\\r is Enter, \\u0003 is Ctrl-C)");

        group.MapGet("/{shell}/output", (string id, string shell, long? cursor, long? maxBytes, string? encoding, HttpContext context) =>
                WriteOutputAsync(shells, logs, id, shell, cursor ?? 0, maxBytes ?? DefaultOutputBytes, encoding, context))
            .Produces<ShellOutput>()
            .WithSummary("Read what the terminal wrote from a cursor (default 0) up to maxBytes, without waiting");

        group.MapPost("/{shell}/resize", async (string id, string shell, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.ResizeShellRequest, new ResizeShellRequest(0, 0));
                return TypedResults.Ok(await shells.ResizeAsync(id, shell, request.Cols, request.Rows, ct));
            })
            .Accepts<ResizeShellRequest>("application/json")
            .Limited(RequestLimit.Resize)
            .WithSummary("Set the terminal's size (1-1000 columns and rows); the program in the foreground gets SIGWINCH");

        group.MapPost("/{shell}/signal", async (string id, string shell, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.SignalRequest, new SignalRequest(""));
                return TypedResults.Ok(await shells.SignalAsync(id, shell, request.Signal, ct));
            })
            .Accepts<SignalRequest>("application/json")
            .WithSummary("INT to the foreground command (like Ctrl-C); TERM, HUP or KILL to the shell's whole tree");

        group.MapDelete("/{shell}", async (string id, string shell, long? graceMs, CancellationToken ct) =>
                TypedResults.Ok(await shells.CloseAsync(id, shell, graceMs, ct)))
            .WithSummary("Close the shell: SIGHUP to its tree, SIGKILL after graceMs (default 2000); returns it as it ended");

        group.MapGet("/{shell}/attach", (string id, string shell, long? cursor, HttpContext context) =>
                ShellSocket.RunAsync(context, shells, logs, id, shell, cursor ?? 0, options.ResizesPerSecond))
            .WithSummary("WebSocket: terminal output from a cursor (default 0) then live as binary messages; binary input; JSON text for resize and exit");
    }

    /// <summary>What the terminal wrote from <paramref name="cursor"/>, up to about <paramref name="maxBytes"/>.</summary>
    private static async Task WriteOutputAsync(ShellService shells, LogReader logs, string id, string shell, long cursor, long maxBytes, string? encoding, HttpContext context)
    {
        SourceRedacted.Mark(context);
        var ct = context.RequestAborted;
        if (maxBytes < 1 || maxBytes > MaxOutputBytes)
        {
            throw new HutchException(ErrorCodes.LimitOutOfRange, $"maxBytes must be between 1 and {MaxOutputBytes}; it was {maxBytes}.");
        }
        var base64 = RequestValidator.Encoding(encoding) == "base64";
        var shellId = shells.Get(id, shell).Id;
        using var window = await logs.ReadWindowAsync(id, shellId, cursor, maxBytes, ct);
        await LogWindowJson.WriteShellOutputAsync(context, window, base64);
    }
}
