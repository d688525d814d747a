using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Output;

/// <summary>`--json` output: the API's DTOs through the source-generated context (no reflection), indented.</summary>
internal static class JsonOutput
{
    /// <summary>ApiJsonContext's metadata with indentation: same field names and null handling as the HTTP API.</summary>
    public static ApiJsonContext Context { get; } = new(new JsonSerializerOptions(ApiJsonContext.Default.Options) { WriteIndented = true });

    public static void Write<T>(TextWriter output, T value, JsonTypeInfo<T> typeInfo) =>
        output.WriteLine(JsonSerializer.Serialize(value, typeInfo));

    /// <summary>For the few outputs that are not API DTOs (rm, doctor): written by hand, still indented.</summary>
    public static void Write(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(writer);
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }
}
