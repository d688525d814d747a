using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Secrets;

/// <summary>/v1/secrets: the write-only store. Answers hold metadata only, never a value.</summary>
internal static class SecretEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SecretStore store, SandboxSecrets sandboxes)
    {
        var group = app.MapGroup("/v1/secrets");

        group.MapPost("", (CreateSecretRequest request) =>
                TypedResults.Json(store.Create(request), ApiJsonContext.Default.SecretInfo, statusCode: StatusCodes.Status201Created))
            .Accepts<CreateSecretRequest>("application/json")
            .Produces<SecretInfo>(StatusCodes.Status201Created)
            .WithSummary("Store a secret: its value (write-only, encrypted at rest), a description and the hosts it may be sent to");

        group.MapGet("", () => TypedResults.Json(new SecretList(store.List()), ApiJsonContext.Default.SecretList))
            .Produces<SecretList>()
            .WithSummary("Every secret, metadata only");

        group.MapGet("/{name}", (string name) => TypedResults.Json(store.Get(name), ApiJsonContext.Default.SecretInfo))
            .Produces<SecretInfo>()
            .WithSummary("One secret's metadata (never its value)");

        group.MapPost("/{name}/rotate", async (string name, RotateSecretRequest request) =>
            {
                var info = store.Rotate(name, request);
                await sandboxes.RotatedAsync(info.Name).ConfigureAwait(false);
                return TypedResults.Json(info, ApiJsonContext.Default.SecretInfo);
            })
            .Accepts<RotateSecretRequest>("application/json")
            .Produces<SecretInfo>()
            .WithSummary("Give a secret a new value: a new version");

        group.MapDelete("/{name}", (string name, bool? force) =>
            {
                store.Delete(name, force == true);
                return TypedResults.NoContent();
            })
            .Produces(StatusCodes.Status204NoContent)
            .WithSummary("Delete a secret and every version of its value; one that sandboxes use only with force=true (409 secret_in_use otherwise)");
    }
}
