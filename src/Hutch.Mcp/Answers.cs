using System.Text.Json;
using System.Text.Json.Nodes;
using Hutch.Client;
using Hutch.Protocol.Api;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Protocol;

namespace Hutch.Mcp;

/// <summary>
/// A tool's answer: its structured content (what the output schema describes) and a short text of
/// the same for clients that show text only. A mistake the model can fix (a bad argument, a missing
/// file, a refused command) is a tool error with its stable code and what to do, never a protocol
/// error: the model reads it and tries again.
/// </summary>
internal static class Answers
{
    // Nulls are written: the output schema names every property as required (null allowed where
    // the type is nullable), and clients check answers against it (the TypeScript SDK refuses one
    // that lacks a property).
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    /// <summary>The output schema of a tool whose answers are <typeparamref name="T"/>.</summary>
    public static JsonElement SchemaOf<T>() => AIJsonUtilities.CreateJsonSchema(typeof(T), serializerOptions: Json);

    public static CallToolResult Of<T>(T answer, string text) => new()
    {
        Content = [new TextContentBlock { Text = text }],
        StructuredContent = JsonSerializer.SerializeToElement(answer, Json),
    };

    /// <summary>Runs a tool's body; a Hutch error becomes a tool error naming its code and hint.</summary>
    public static async Task<CallToolResult> GuardAsync(Func<Task<CallToolResult>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (HutchApiException e)
        {
            return Error(e.Code, e.Detail, McpHints.For(e.Code));
        }
        catch (ToolInputException e)
        {
            return Error(e.Code, e.Message, McpHints.For(e.Code));
        }
    }

    public static CallToolResult Error(string code, string message, string? hint)
    {
        var text = hint is null ? $"{code}: {message}" : $"{code}: {message}\nhint: {hint}";
        // Text only: a client checks structured content against the tool's output schema, which
        // describes its answers, not its errors (the TypeScript SDK refuses a result that fails it).
        return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = text }] };
    }
}

/// <summary>An argument the tool itself refuses before asking the daemon.</summary>
internal sealed class ToolInputException(string code, string message) : Exception(message)
{
    public string Code => code;
}
