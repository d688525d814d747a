using Hutch.Daemon.Engine;
using Hutch.Daemon.Http.Limits;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Http;

/// <summary>The /v1/sandboxes/{id}/shells routes (docs/shells.md): thin translations to the engine.</summary>
internal static class ShellEndpoints
{
    private const long DefaultOutputBytes = 1 << 20;
    private const long MaxOutputBytes = 16 << 20;

    public static void Map(IEndpointRouteBuilder app, SandboxEngine engine, HutchOptions options)
    {
        var shells = app.MapGroup("/v1/sandboxes/{id}/shells");

        shells.MapPost("/", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.OpenShellRequest, new OpenShellRequest());
                var info = await engine.OpenShellAsync(id, request, ct);
                return TypedResults.Created($"/v1/sandboxes/{id}/shells/{info.Id}", info);
            })
            .Accepts<OpenShellRequest>("application/json")
            .WithSummary("Open a shell on a pseudo-terminal (bash -l by default); it lives on until it exits or is closed");

        shells.MapGet("/", async (string id, CancellationToken ct) => TypedResults.Ok(new ShellList([.. await engine.ListShellsAsync(id, ct)])))
            .WithSummary("List the sandbox's shells, open and ended");

        shells.MapGet("/{shell}", async (string id, string shell, CancellationToken ct) => TypedResults.Ok(await engine.GetShellAsync(id, shell, ct)))
            .WithSummary("Get a shell (by id or name): state, exit status and terminal size");

        shells.MapPost("/{shell}/input", async (string id, string shell, HttpRequest http, CancellationToken ct) =>
            {
                await engine.WriteShellInputAsync(id, shell, http.Body, ct);
                return TypedResults.NoContent();
            })
            .Accepts<byte[]>("application/octet-stream")
            .WithSummary("Write the body to the shell's terminal, as typed keys (\\r is Enter, \\u0003 is Ctrl-C)");

        shells.MapGet("/{shell}/output", (string id, string shell, long? cursor, long? maxBytes, string? encoding, HttpContext context) =>
                WriteOutputAsync(engine, id, shell, cursor ?? 0, maxBytes ?? DefaultOutputBytes, encoding, context))
            .Produces<ShellOutput>()
            .WithSummary("Read what the terminal wrote from a cursor (default 0) up to maxBytes, without waiting");

        shells.MapPost("/{shell}/resize", async (string id, string shell, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.ResizeShellRequest, new ResizeShellRequest(0, 0));
                return TypedResults.Ok(await engine.ResizeShellAsync(id, shell, request.Cols, request.Rows, ct));
            })
            .Accepts<ResizeShellRequest>("application/json")
            .Limited(RequestLimit.Resize)
            .WithSummary("Set the terminal's size (1-1000 columns and rows); the program in the foreground gets SIGWINCH");

        shells.MapPost("/{shell}/signal", async (string id, string shell, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.SignalRequest, new SignalRequest(""));
                return TypedResults.Ok(await engine.SignalShellAsync(id, shell, request.Signal, ct));
            })
            .Accepts<SignalRequest>("application/json")
            .WithSummary("INT to the foreground command (like Ctrl-C); TERM, HUP or KILL to the shell's whole tree");

        shells.MapDelete("/{shell}", async (string id, string shell, long? graceMs, CancellationToken ct) =>
                TypedResults.Ok(await engine.CloseShellAsync(id, shell, graceMs, ct)))
            .WithSummary("Close the shell: SIGHUP to its tree, SIGKILL after graceMs (default 2000); returns it as it ended");

        shells.MapGet("/{shell}/attach", (string id, string shell, long? cursor, HttpContext context) =>
                ShellSocket.RunAsync(context, engine, id, shell, cursor ?? 0, options.ResizesPerSecond))
            .WithSummary("WebSocket: terminal output from a cursor (default 0) then live as binary messages; binary input; JSON text for resize and exit");
    }

    /// <summary>What the terminal wrote from <paramref name="cursor"/>, up to about <paramref name="maxBytes"/>.</summary>
    private static async Task WriteOutputAsync(SandboxEngine engine, string id, string shell, long cursor, long maxBytes, string? encoding, HttpContext context)
    {
        var ct = context.RequestAborted;
        if (maxBytes < 1 || maxBytes > MaxOutputBytes)
        {
            throw HutchException.BadRequest(ErrorCodes.LimitOutOfRange, $"maxBytes must be between 1 and {MaxOutputBytes}; it was {maxBytes}.");
        }
        var base64 = RequestValidator.Encoding(encoding) == "base64";
        var shellId = (await engine.GetShellAsync(id, shell, ct)).Id;
        using var window = await engine.ReadLogWindowAsync(id, shellId, cursor, maxBytes, ct);
        await LogWindowJson.WriteShellOutputAsync(context, window, base64);
    }
}
