using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Bundles;

/// <summary>/v1/bundles: named, versioned read-only trees; /v1/sandboxes/{id}/bundles/{name}: a running sandbox's (docs/bundles.md).</summary>
internal static class BundleEndpoints
{
    public static void Map(IEndpointRouteBuilder app, BundleService bundles)
    {
        var group = app.MapGroup("/v1/bundles");

        group.MapPost("", async (string? name, HttpContext context) =>
            {
                BodyDrain.AllowLargeBody(context);
                if (name is null)
                {
                    throw new HutchException(ErrorCodes.InvalidBundle, "name: give the bundle's name, as in POST /v1/bundles?name=skills");
                }
                return await BodyDrain.RunAsync(context, async () => TypedResults.Json(
                    await bundles.PushAsync(name, context.Request.Body, context.RequestAborted),
                    ApiJsonContext.Default.BundlePushResult, statusCode: StatusCodes.Status201Created));
            })
            .Accepts<Stream>("application/x-tar")
            .Produces<BundlePushResult>(StatusCodes.Status201Created)
            .WithSummary("Push a bundle's next version from a tar (plain or gzip); its entries are checked as hostile input, files stored once across versions");

        group.MapGet("", () => TypedResults.Json(bundles.List(), ApiJsonContext.Default.BundleList))
            .Produces<BundleList>()
            .WithSummary("Every bundle with its versions and the sandboxes that mount each");

        group.MapGet("/{name}", (string name) => TypedResults.Json(bundles.Get(name), ApiJsonContext.Default.BundleInfo))
            .Produces<BundleInfo>()
            .WithSummary("One bundle: its versions (files, bytes, digest) and which sandboxes mount which version");

        group.MapDelete("/{name}", async (string name, string? version) =>
            {
                await bundles.DeleteAsync(name, version);
                return TypedResults.NoContent();
            })
            .Produces(StatusCodes.Status204NoContent)
            .WithSummary("Delete a bundle's version (?version=), or every version; refused while a sandbox mounts it (409 bundle_in_use)");

        var sandbox = app.MapGroup("/v1/sandboxes/{id}/bundles");

        sandbox.MapPut("/{name}", async (string id, string name, HttpRequest http, CancellationToken ct) =>
            {
                var request = await JsonBody.ReadAsync(http, ApiJsonContext.Default.SetSandboxBundleRequest, new SetSandboxBundleRequest());
                return TypedResults.Json(await bundles.SetAsync(id, name, request, ct), ApiJsonContext.Default.SandboxBundleInfo);
            })
            .Accepts<SetSandboxBundleRequest>("application/json")
            .Produces<SandboxBundleInfo>()
            .WithSummary("Mount a bundle in a running sandbox under /bundles, or switch the one it mounts to another version, without a restart; open files keep their version, the path is never empty");

        sandbox.MapDelete("/{name}", async (string id, string name, CancellationToken ct) =>
            {
                await bundles.RemoveAsync(id, name, ct);
                return TypedResults.NoContent();
            })
            .Produces(StatusCodes.Status204NoContent)
            .WithSummary("Unmount a bundle from a running sandbox");
    }
}
