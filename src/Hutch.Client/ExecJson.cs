using System.Text.Json;
using Hutch.Protocol.Api;

namespace Hutch.Client;

/// <summary>
/// The exec request and the exec stream's events, written and read with Utf8JsonWriter and
/// Utf8JsonReader directly. The same bytes as <see cref="HutchClient.Json"/> writes, the same
/// records as it reads (tests/Hutch.Tests/Client/ExecJsonTests.cs pins both against it), without
/// the serializer's first-use cost: it builds the metadata of ExecRequest, ExecEvent and its five
/// subtypes by reading their attributes through reflection, about a quarter of the CPU of a whole
/// `hutch exec` (docs/benchmarks.md, issue #10).
/// </summary>
internal static class ExecJson
{
    /// <summary>The request as the serializer writes it: camelCase, nulls left out, in declaration order.</summary>
    public static byte[] Write(ExecRequest request)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (request.Argv is { } argv)
            {
                json.WriteStartArray("argv");
                foreach (var arg in argv)
                {
                    json.WriteStringValue(arg);
                }
                json.WriteEndArray();
            }
            WriteIfSet(json, "command", request.Command);
            WriteIfSet(json, "cwd", request.Cwd);
            if (request.Env is { } env)
            {
                json.WriteStartObject("env");
                foreach (var (name, value) in env)
                {
                    json.WriteString(name, value); // Dictionary keys keep their case; a null value is written as null, as the serializer does.
                }
                json.WriteEndObject();
            }
            WriteIfSet(json, "stdin", request.Stdin);
            WriteIfSet(json, "stdinBase64", request.StdinBase64);
            WriteIfSet(json, "timeoutMs", request.TimeoutMs);
            WriteIfSet(json, "maxOutputBytes", request.MaxOutputBytes);
            WriteIfSet(json, "encoding", request.Encoding);
            if (request.KillOnDisconnect is { } kill)
            {
                json.WriteBoolean("killOnDisconnect", kill);
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
    }

    /// <summary>One event from one NDJSON line; what follows the object on the line is not looked at (as the serializer's reader does not).</summary>
    /// <exception cref="JsonException">Not an exec event: not an object, no or an unknown "type" first, a member of the wrong kind.</exception>
    public static ExecEvent ReadEvent(ref Utf8JsonReader reader) => ExecEventReader.Read(ref reader);

    /// <inheritdoc cref="ReadEvent(ref Utf8JsonReader)"/>
    public static ExecEvent ReadEvent(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        return ExecEventReader.Read(ref reader);
    }
}
