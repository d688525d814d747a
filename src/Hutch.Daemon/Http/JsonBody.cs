using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hutch.Daemon.Engine;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>
/// Reads request bodies with the API's source-generated contract, so an unknown member, a wrong type
/// or broken JSON becomes an invalid_request problem that names the field, rather than a bare 400.
/// </summary>
internal static class JsonBody
{
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, T empty)
    {
        if (request.ContentLength == 0 || (request.ContentLength is null && !request.Body.CanSeek && request.Headers.TransferEncoding.Count == 0))
        {
            return empty;
        }
        if (request.ContentType is { } contentType && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new HutchException(ErrorCodes.InvalidRequest, 415, $"The body must be JSON (Content-Type: application/json), not {contentType}.");
        }
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted).ConfigureAwait(false) ?? empty;
        }
        catch (JsonException e)
        {
            var where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
            throw HutchException.BadRequest(ErrorCodes.InvalidRequest,
                $"The request body is not valid{where}: {e.Message.Split(" Path:")[0]} Check the field names and types against /openapi/v1.json.");
        }
    }
}
