using Hutch.Daemon.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Templates;

/// <summary>/v1/templates: the templates a sandbox's root can be made from (docs/templates.md).</summary>
internal static class TemplateEndpoints
{
    public static void Map(IEndpointRouteBuilder app, TemplateStore store, TemplateImports imports, TemplatePruning pruning, SandboxRegistry sandboxes)
    {
        var group = app.MapGroup("/v1/templates");

        group.MapPost("", async (string? name, string? version, string? format, HttpContext context) =>
            {
                Http.BodyDrain.AllowLargeBody(context);
                var given = name ?? throw new HutchException(ErrorCodes.InvalidTemplate, "name: give the template's name, as in POST /v1/templates?name=python");
                if (format is not (null or "image" or "rootfs"))
                {
                    throw new HutchException(ErrorCodes.InvalidQuery, $"format '{format}' is not 'image' (an oci-layout or docker-archive tar, the default) or 'rootfs' (a root file system's tar)");
                }
                return await Http.BodyDrain.RunAsync(context, async () =>
                {
                    var template = format == "rootfs"
                        ? await imports.ImportRootfsAsync(context.Request.Body, given, version, context.RequestAborted)
                        : await imports.ImportArchiveAsync(context.Request.Body, given, version, context.RequestAborted);
                    return TypedResults.Json(Info(template, sandboxes), ApiJsonContext.Default.TemplateInfo, statusCode: StatusCodes.Status201Created);
                });
            })
            .Accepts<Stream>("application/x-tar")
            .Produces<TemplateInfo>(StatusCodes.Status201Created)
            .WithSummary("Make a template's version from an image archive (oci-layout or docker-archive tar, plain or gzip) or a root file system's tar (?format=rootfs), its layers checked as hostile input");

        group.MapGet("", () => TypedResults.Json(new TemplateList(store.List().Select(t => Info(t, sandboxes)).ToArray()), ApiJsonContext.Default.TemplateList))
            .Produces<TemplateList>()
            .WithSummary("Every version of every template, newest first");

        group.MapGet("/{name}", (string name, string? version) =>
            {
                TemplateStore.CheckName(name);
                if (version is not null)
                {
                    TemplateStore.CheckVersion(version);
                }
                return TypedResults.Json(Info(store.Get(name, version), sandboxes), ApiJsonContext.Default.TemplateInfo);
            })
            .Produces<TemplateInfo>()
            .WithSummary("One template: its newest version, or the one ?version= names");

        group.MapDelete("/{name}", (string name, string? version) =>
            {
                TemplateStore.CheckName(name);
                if (version is not null)
                {
                    TemplateStore.CheckVersion(version);
                }
                pruning.Remove(name, version);
                return TypedResults.NoContent();
            })
            .Produces(StatusCodes.Status204NoContent)
            .WithSummary("Delete a template's version (?version=), or every version, and the layers nothing else uses; refused while a sandbox uses it (409 template_in_use)");

        group.MapPost("/prune", (long? cacheOlderThanSeconds) =>
                TypedResults.Json(pruning.Prune(cacheOlderThanSeconds), ApiJsonContext.Default.TemplatePruneResult))
            .Produces<TemplatePruneResult>()
            .WithSummary("Remove the build cache's entries (all, or those older than ?cacheOlderThanSeconds=), then every layer no template version, cache entry, import or build uses; answers what went and how many bytes");
    }

    /// <summary>A version as the API shows it, with how many sandboxes use it now.</summary>
    internal static TemplateInfo Info(TemplateRecord t, SandboxRegistry sandboxes) =>
        new(t.Name, t.Version, t.Digest, t.Source, t.CreatedAt, t.Manifest.Layers.Length, t.Manifest.Env, t.Manifest.WorkingDir, t.Manifest.User,
            t.Manifest.Cmd, sandboxes.CountUsing(t.Reference), t.Manifest.Start, t.Manifest.Readiness);
}
