using Hutch.Daemon.Http;
using Hutch.Daemon.Http.Limits;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Exec;

/// <summary>The /v1/sandboxes/{id}/exec routes (docs/exec.md): a command's result collected, or its events streamed as NDJSON.</summary>
internal static class ExecEndpoints
{
    /// <summary>
    /// An exec's body may be this big, not Kestrel's 30 MB: a command of up to 64 MiB (sent to the
    /// sandbox as a script, <see cref="ShellScript"/>) with room for JSON's escapes and for stdin.
    /// Past it, 413 request_too_large before the body is read.
    /// </summary>
    public const long MaxBodyBytes = 128L << 20;

    /// <summary>A kept output's answer says the stream's whole length in this header.</summary>
    public const string OutputLengthHeader = "Hutch-Output-Length";

    public static void Map(IEndpointRouteBuilder app, ExecService exec, RequestLimits limits)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}");

        group.MapPost("/exec", async (string id, HttpContext context) =>
            {
                AllowExecBody(context);
                var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.ExecRequest, new ExecRequest());
                using var result = await exec.CollectAsync(id, request, CommandSlots.Of(context), context.RequestAborted);
                SourceRedacted.Mark(context);
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

        group.MapGet("/exec/outputs/{output}/{stream}", async (string id, string output, string stream, long? offset, long? limit, HttpContext context) =>
            {
                var (path, start, count, length) = exec.Outputs.Locate(id, output, stream, offset ?? 0, limit);
                // The stream's whole length: the client's cursor is offset + the bytes it got, and this is where it ends.
                context.Response.Headers[OutputLengthHeader] = length.ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.ContentType = "application/octet-stream";
                await context.Response.SendFileAsync(path, start, count, context.RequestAborted);
            })
            .Produces(200, contentType: "application/octet-stream")
            .WithSummary("Read a truncated exec's whole stdout or stderr from an offset (its result's fullOutput names it)");

        async Task StreamAsync(string id, HttpContext context)
        {
            AllowExecBody(context);
            var request = await JsonBody.ReadAsync(context.Request, ApiJsonContext.Default.ExecRequest, new ExecRequest());
            SourceRedacted.Mark(context);
            await Ndjson.WriteAsync(context, WireEvents.ToExecEvents(exec.StreamAsync(id, request, CommandSlots.Of(context), context.RequestAborted)), ApiJsonContext.Default.ExecEvent);
        }
    }

    private static void AllowExecBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = MaxBodyBytes;
        }
    }
}
