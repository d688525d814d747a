using Hutch.Artifacts;
using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Artifacts;

/// <summary>Artifacts of a sandbox, sets that outlive sandboxes, and the links a browser opens (docs/artifacts.md).</summary>
internal static class ArtifactEndpoints
{
    /// <summary>The one route a request may reach without the API key: a signed link grants one file until it expires.</summary>
    public const string LinkPrefix = "/v1/artifact-links/";

    public static void Map(IEndpointRouteBuilder app, ArtifactService artifacts)
    {
        var sandbox = app.MapGroup("/v1/sandboxes/{id}/artifacts");

        sandbox.MapGet("", (string id) => TypedResults.Json(artifacts.List(artifacts.SetOf(id)), ApiJsonContext.Default.ArtifactList))
            .Produces<ArtifactList>()
            .WithSummary("The sandbox's kept files (its own set, or its session's), each with a link that works without the API key for a while");

        sandbox.MapPost("", async (string id, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.RecordArtifactRequest, new RecordArtifactRequest());
                var info = await artifacts.RecordAsync(id, request, ct);
                return TypedResults.Json(info, ApiJsonContext.Default.ArtifactInfo, statusCode: StatusCodes.Status201Created);
            })
            .Accepts<RecordArtifactRequest>("application/json")
            .Produces<ArtifactInfo>(StatusCodes.Status201Created)
            .WithSummary("Keep one workspace file now, with a purpose, whether or not a glob matches it");

        var sets = app.MapGroup("/v1/artifacts/sets/{set}");

        sets.MapGet("", (string set) => TypedResults.Json(artifacts.List(set), ApiJsonContext.Default.ArtifactList))
            .Produces<ArtifactList>()
            .WithSummary("A set's kept files (a sandbox's id, or session:KEY), also after its sandboxes are gone");

        sets.MapGet("/content", async (string set, string path, HttpContext context) =>
            {
                var (file, content) = await artifacts.OpenAsync(set, path, context.RequestAborted);
                await SendAsync(context, file, content);
            })
            .WithSummary("A kept file's bytes (the set's newest version of that path)");

        sets.MapDelete("", async (string set, CancellationToken ct) => TypedResults.Json(await artifacts.DeleteSetAsync(set, ct), ApiJsonContext.Default.ArtifactCleanup))
            .Produces<ArtifactCleanup>()
            .WithSummary("Delete a set: its recorded files newest first, then its manifest, then its directory; answers what was deleted");

        app.MapPost("/v1/artifacts/prune", async (CancellationToken ct) => TypedResults.Json(await artifacts.PruneAsync(ct), ApiJsonContext.Default.ArtifactPruneResult))
            .Produces<ArtifactPruneResult>()
            .WithSummary("Delete stored content no set names any more (what deleted sets kept, unless another set keeps the same bytes)");

        app.MapGet(LinkPrefix + "{token}", async (string token, HttpContext context) =>
            {
                var (file, content) = await artifacts.OpenLinkAsync(token, context.RequestAborted);
                await SendAsync(context, file, content);
            })
            .WithSummary("A kept file by its signed link, without the API key, until the link expires (410 link_expired after)");
    }

    /// <summary>Bytes as an attachment a browser saves rather than renders: a sandbox wrote them.</summary>
    private static async Task SendAsync(HttpContext context, ArtifactFileRecord file, Stream content)
    {
        await using (content)
        {
            context.Response.Headers.ContentDisposition = ContentDisposition.Attachment(Path.GetFileName(file.Path));
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.ContentSecurityPolicy = "sandbox";
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = file.Size;
            await content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }
}
