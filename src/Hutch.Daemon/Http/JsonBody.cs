using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>
/// Reads request bodies with the API's source-generated contract, so an unknown member, a wrong type
/// or broken JSON becomes an invalid_request problem that names the field and the JSON type it takes,
/// rather than a bare 400 or System.Text.Json's message (which names .NET types).
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
            throw new HutchException(ErrorCodes.UnsupportedMediaType, $"The body must be JSON (Content-Type: application/json), not {contentType}.");
        }
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted).ConfigureAwait(false) ?? empty;
        }
        catch (JsonException e)
        {
            throw new HutchException(ErrorCodes.InvalidRequest, Describe(e, type));
        }
    }

    /// <summary>
    /// What is wrong with a body, in the caller's terms: the field (as a JSON path) and the JSON type it
    /// takes. <paramref name="subject"/> names the whole ("The request body", "The control message").
    /// </summary>
    internal static string Describe(JsonException e, JsonTypeInfo root, string subject = "The request body", string hint = " Check the request against /openapi/v1.json.")
    {
        // The reader's own errors (broken JSON) come wrapped, and their messages name no .NET type.
        if (e.InnerException is JsonException reader)
        {
            var at = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
            return $"{subject} is not valid JSON{at}: {Trim(reader.Message)}{hint}";
        }
        var segments = Segments(e.Path);
        var field = Field(segments);
        JsonTypeInfo? parent = null;
        JsonTypeInfo? target = root;
        foreach (var segment in segments)
        {
            parent = target;
            target = target is null ? null : Step(target, segment);
        }
        if (segments.Count == 0)
        {
            if (e.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
            {
                return $"{subject} is empty; send {JsonTypeWords.Of(root.Type, root.Options)}.{hint}";
            }
            return $"{subject} must be {JsonTypeWords.Of(root.Type, root.Options)}.{hint}";
        }
        if (target is null && parent is { Kind: JsonTypeInfoKind.Object })
        {
            return $"{subject} has an unknown field '{field}'.{hint}";
        }
        if (target is not null)
        {
            return $"The field '{field}' must be {JsonTypeWords.Of(target.Type, target.Options)}.{hint}";
        }
        return $"{subject} is not valid at '{field}'.{hint}";
    }

    /// <summary>The type info a path segment leads to: a property of an object, or the element of an array or dictionary.</summary>
    private static JsonTypeInfo? Step(JsonTypeInfo info, string segment)
    {
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                var property = info.Properties.FirstOrDefault(p => string.Equals(p.Name, segment, StringComparison.OrdinalIgnoreCase));
                return property is null ? null : info.Options.GetTypeInfo(property.PropertyType);
            case JsonTypeInfoKind.Enumerable or JsonTypeInfoKind.Dictionary when info.ElementType is { } element:
                return info.Options.GetTypeInfo(element);
            default:
                return null;
        }
    }

    /// <summary>
    /// "$.limits.memoryMiB" → [limits, memoryMiB]; "$.argv[0]" → [argv, 0]; "$['a b']" → [a b]
    /// (System.Text.Json's path syntax).
    /// </summary>
    private static List<string> Segments(string? path)
    {
        var segments = new List<string>();
        if (string.IsNullOrEmpty(path))
        {
            return segments;
        }
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 1)..end]);
                i = end;
            }
            else if (path[i] == '[' && i + 1 < path.Length && path[i + 1] == '\'')
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 2)..end]);
                i = Math.Min(end + 2, path.Length);
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 1)..end]);
                i = Math.Min(end + 1, path.Length);
            }
            else
            {
                break;
            }
        }
        return segments;
    }

    /// <summary>The path as a caller writes it: "limits.memoryMiB", "argv[0]".</summary>
    private static string Field(List<string> segments)
    {
        var field = new StringBuilder();
        foreach (var segment in segments)
        {
            if (segment.Length > 0 && segment.All(char.IsAsciiDigit))
            {
                field.Append('[').Append(segment).Append(']');
            }
            else
            {
                field.Append(field.Length == 0 ? "" : ".").Append(segment);
            }
        }
        return field.ToString();
    }

    private static string Trim(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        var text = (cut < 0 ? message : message[..cut]).Trim();
        cut = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut < 0 ? text : text[..cut].Trim();
    }
}
