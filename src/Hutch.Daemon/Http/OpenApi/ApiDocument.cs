using System.Text.Json.Nodes;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Hutch.Daemon.Http.OpenApi;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>, as generated from the endpoints and the API's
/// records (their XML comments are the descriptions), with what the generator cannot know: the
/// bearer key, an operationId and a tag for every route (<see cref="ApiOperations"/>), the problem
/// answers each can give (<see cref="ApiErrors"/>), the string fields that take a fixed set of values
/// (<see cref="ApiEnums"/>), and which objects refuse unknown members. docs/http-api.md#openapi.
/// </summary>
internal static class ApiDocument
{
    public const string SecurityScheme = "apiKey";

    public static IServiceCollection AddApiDocument(this IServiceCollection services) => services.AddOpenApi(options =>
    {
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonPropertyInfo is { } property && ApiEnums.Of(property.DeclaringType, property.Name) is { } values)
            {
                schema.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v)!)];
                if (schema.Type is { } type && type.HasFlag(JsonSchemaType.Null))
                {
                    schema.Enum.Add(null!); // a nullable enum takes null as well as its values
                }
            }
            if (context.JsonTypeInfo.Type == typeof(ReadOnlyMemory<byte>))
            {
                schema.Format = "byte"; // bytes are base64 on the wire (System.Text.Json's encoding of byte memory)
                schema.Description = "Bytes, base64-encoded.";
            }
            return Task.CompletedTask;
        });
        options.AddDocumentTransformer(async (document, context, cancellationToken) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "Hutch HTTP API",
                Version = "v1",
                Description = "Isolated Linux sandboxes for AI agents on one host: create them, run commands (collected or streamed), " +
                    "and work with their files, processes, sessions, services, shells and ports. Every error is application/problem+json " +
                    "with a stable code. The prose reference is docs/http-api.md in the repository.",
            };
            foreach (var server in document.Servers ?? [])
            {
                server.Url = server.Url?.TrimEnd('/'); // the generator writes the request's base with a trailing slash
            }
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SecurityScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The daemon's API key (hk_…), from <data dir>/api-key on its host, as 'Authorization: Bearer <key>'. " +
                    "Every route needs it, this document and /v1/health included.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecurityScheme, document)] = [] }];

            var problem = await context.GetOrCreateSchemaAsync(typeof(Problem), cancellationToken: cancellationToken).ConfigureAwait(false);
            document.AddComponent(ApiErrors.ProblemSchema, problem);
            ApiOperations.Apply(document);
            ApiParameters.Apply(document);
            ApiErrors.Apply(document);
            ClosedObjects.Apply(document);
            HoistDescriptions(document);
        });
    });

    /// <summary>
    /// A nullable object field is <c>oneOf: [null, $ref]</c>, and the generator puts the field's
    /// description on the $ref branch, where viewers and generators do not look: move it to the field.
    /// </summary>
    private static void HoistDescriptions(OpenApiDocument document)
    {
        foreach (var schema in document.Components?.Schemas?.Values ?? [])
        {
            foreach (var property in schema.Properties?.Values ?? new Dictionary<string, IOpenApiSchema>().Values)
            {
                if (property is OpenApiSchema { Description: null, OneOf: { } branches } concrete
                    && branches.Select(b => b.Description).FirstOrDefault(d => d is not null) is { } description)
                {
                    concrete.Description = description;
                }
            }
        }
    }
}
