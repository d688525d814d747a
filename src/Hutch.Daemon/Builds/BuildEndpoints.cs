using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Builds;

/// <summary>POST /v1/templates/build: a template's version from a Dockerfile and its context (docs/templates.md#building-from-a-dockerfile).</summary>
internal static class BuildEndpoints
{
    public static void Map(IEndpointRouteBuilder app, TemplateBuilder builder)
    {
        app.MapPost("/v1/templates/build", async (string? name, string? version, string? dockerfile, [FromQuery] string[]? buildArg, bool? noCache,
                string? network, [FromQuery] string[]? allow, [FromQuery] string[]? deny, string? preset, HttpContext context) =>
            {
                BodyDrain.AllowLargeBody(context);
                var given = name ?? throw new HutchException(ErrorCodes.InvalidTemplate, "name: give the template's name, as in POST /v1/templates/build?name=python");
                var args = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var pair in buildArg ?? [])
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        throw new HutchException(ErrorCodes.InvalidRequest, $"buildArg: '{pair}' is not NAME=VALUE");
                    }
                    args[pair[..equals]] = pair[(equals + 1)..];
                }
                var policy = network is null && allow is not { Length: > 0 } && deny is not { Length: > 0 } && preset is null
                    ? null
                    : new NetworkPolicy(network ?? (allow is { Length: > 0 } || preset is not null ? NetworkModes.Allowlist : null),
                        allow is { Length: > 0 } ? allow : null, deny is { Length: > 0 } ? deny : null, preset);
                var request = new TemplateBuildRequest(given, version, dockerfile ?? "Dockerfile", args, noCache ?? false, policy);
                // The context is read whole before the first event: a bad Dockerfile or context is a problem answer, not a broken stream.
                await Ndjson.WriteAsync(context, builder.BuildAsync(context.Request.Body, request, context.RequestAborted), ApiJsonContext.Default.TemplateBuildEvent);
            })
            .Accepts<Stream>("application/x-tar")
            .Produces<TemplateBuildEvent>(200, "application/x-ndjson")
            .WithSummary("Build a template's version from a Dockerfile: the build context as a tar body, the steps' events streamed as NDJSON");
    }
}
