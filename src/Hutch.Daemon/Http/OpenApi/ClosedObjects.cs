using Microsoft.OpenApi;

namespace Hutch.Daemon.Http.OpenApi;

/// <summary>
/// Marks <c>additionalProperties: false</c> on every object a request body can hold: the daemon reads
/// bodies with ApiJsonContext, which refuses unknown members (a misspelt option is an invalid_request,
/// never silently ignored). Answers stay open, so a client validating them survives new fields.
/// </summary>
internal static class ClosedObjects
{
    public static void Apply(OpenApiDocument document)
    {
        var schemas = document.Components?.Schemas ?? new Dictionary<string, IOpenApiSchema>();
        var seen = new HashSet<IOpenApiSchema>();
        foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
        {
            foreach (var media in operation.RequestBody?.Content?.Values ?? [])
            {
                if (media.Schema is { } schema)
                {
                    Close(schema, schemas, seen);
                }
            }
        }
    }

    private static void Close(IOpenApiSchema schema, IDictionary<string, IOpenApiSchema> schemas, HashSet<IOpenApiSchema> seen)
    {
        if (schema is OpenApiSchemaReference reference)
        {
            if (reference.Reference.Id is { } id && schemas.TryGetValue(id, out var target))
            {
                Close(target, schemas, seen);
            }
            return;
        }
        if (schema is not OpenApiSchema concrete || !seen.Add(concrete))
        {
            return;
        }
        if (concrete.Properties is { Count: > 0 } properties)
        {
            concrete.AdditionalPropertiesAllowed = false;
            foreach (var property in properties.Values)
            {
                Close(property, schemas, seen);
            }
        }
        foreach (var nested in new[] { concrete.Items, concrete.AdditionalProperties }.Concat(concrete.AnyOf ?? []).Concat(concrete.OneOf ?? []).Concat(concrete.AllOf ?? []))
        {
            if (nested is not null)
            {
                Close(nested, schemas, seen);
            }
        }
    }
}
