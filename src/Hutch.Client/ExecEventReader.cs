using System.Text;
using System.Text.Json;
using Hutch.Protocol.Api;

namespace Hutch.Client;

/// <summary>
/// Reads one <see cref="ExecEvent"/> the way <see cref="HutchClient.Json"/> does (web defaults: camelCase
/// names matched case-insensitively, strict numbers, unknown members skipped, a missing member is
/// its parameter's default, the last of a repeated member wins) and fails where it fails, always
/// with a <see cref="JsonException"/>. Only "type" as the first member is an event, as for the
/// serializer, which reads the discriminator before anything else.
/// </summary>
internal static partial class ExecEventReader
{
    private enum Member { Other, Pid, Data, ExitCode, Signal, Truncated, TimedOut, OomKilled, DurationMs, Killed, FullOutput, NetworkRefusals, Artifacts, Code, Message }

    public static ExecEvent Read(ref Utf8JsonReader reader)
    {
        try
        {
            if (reader.TokenType == JsonTokenType.None && !reader.Read())
            {
                throw new JsonException("A line held no JSON value.");
            }
            if (reader.TokenType == JsonTokenType.Null)
            {
                throw new JsonException("A line held JSON null instead of an object.");
            }
            Expect(ref reader, JsonTokenType.StartObject);
            if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("type"u8))
            {
                throw new JsonException("An exec event's first member must be its \"type\".");
            }
            reader.Read();
            Expect(ref reader, JsonTokenType.String);
            if (reader.ValueTextEquals(ExecEventTypes.Start))
            {
                return ReadStart(ref reader);
            }
            if (reader.ValueTextEquals(ExecEventTypes.Stdout))
            {
                return new ExecStdoutEvent(ReadData(ref reader));
            }
            if (reader.ValueTextEquals(ExecEventTypes.Stderr))
            {
                return new ExecStderrEvent(ReadData(ref reader));
            }
            if (reader.ValueTextEquals(ExecEventTypes.Exit))
            {
                return ReadExit(ref reader);
            }
            if (reader.ValueTextEquals(ExecEventTypes.Error))
            {
                return ReadError(ref reader);
            }
            throw new JsonException($"'{reader.GetString()}' is not an exec event type.");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // A string that is not valid UTF-8 or a number out of range, as the serializer reports it.
            throw new JsonException(e.Message, e);
        }
    }

    private static ExecStartEvent ReadStart(ref Utf8JsonReader reader)
    {
        var pid = 0;
        while (NextMember(ref reader) is { } member)
        {
            if (member == Member.Pid)
            {
                pid = Int32(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        return new ExecStartEvent(pid);
    }

    private static ReadOnlyMemory<byte> ReadData(ref Utf8JsonReader reader)
    {
        ReadOnlyMemory<byte> data = default;
        while (NextMember(ref reader) is { } member)
        {
            if (member == Member.Data)
            {
                // The serializer reads null as empty, and the base64 as bytes.
                data = reader.TokenType == JsonTokenType.Null ? default : Expect(ref reader, JsonTokenType.String).GetBytesFromBase64();
            }
            else
            {
                reader.Skip();
            }
        }
        return data;
    }

    private static ExecExitEvent ReadExit(ref Utf8JsonReader reader)
    {
        int? exitCode = null;
        string? signal = null;
        bool truncated = false, timedOut = false, oomKilled = false;
        long durationMs = 0;
        ExecKilled? killed = null;
        ExecFullOutput? fullOutput = null;
        IReadOnlyList<NetworkEvent>? refusals = null;
        IReadOnlyList<ArtifactInfo>? artifacts = null;
        while (NextMember(ref reader) is { } member)
        {
            switch (member)
            {
                case Member.ExitCode: exitCode = reader.TokenType == JsonTokenType.Null ? null : Int32(ref reader); break;
                case Member.Signal: signal = String(ref reader); break;
                case Member.Truncated: truncated = Bool(ref reader); break;
                case Member.TimedOut: timedOut = Bool(ref reader); break;
                case Member.OomKilled: oomKilled = Bool(ref reader); break;
                case Member.DurationMs: durationMs = Int64(ref reader); break;
                case Member.Killed: killed = reader.TokenType == JsonTokenType.Null ? null : ReadKilled(ref reader); break;
                case Member.FullOutput: fullOutput = reader.TokenType == JsonTokenType.Null ? null : ReadFullOutput(ref reader); break;
                // Rare (a sandbox whose network refused something): the serializer reads these, its metadata built only then.
                case Member.NetworkRefusals: refusals = JsonSerializer.Deserialize(ref reader, HutchClient.Json.IReadOnlyListNetworkEvent); break;
                case Member.Artifacts: artifacts = JsonSerializer.Deserialize(ref reader, HutchClient.Json.IReadOnlyListArtifactInfo); break;
                default: reader.Skip(); break;
            }
        }
        return new ExecExitEvent(exitCode, signal, truncated, timedOut, oomKilled, durationMs, killed, fullOutput, refusals, artifacts);
    }

    private static ExecErrorEvent ReadError(ref Utf8JsonReader reader)
    {
        string? code = null, message = null;
        while (NextMember(ref reader) is { } member)
        {
            switch (member)
            {
                case Member.Code: code = String(ref reader); break;
                case Member.Message: message = String(ref reader); break;
                default: reader.Skip(); break;
            }
        }
        // Not declared nullable, but the serializer leaves a missing or null string null (no RespectNullableAnnotations).
        return new ExecErrorEvent(code!, message!);
    }

    /// <summary>Moves to the next member's value and says which it is; null at the object's end.</summary>
    private static Member? NextMember(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return null;
        }
        if (reader.ValueTextEquals("type"u8))
        {
            throw new JsonException("An exec event has a second \"type\".");
        }
        var member = NameOf(ref reader);
        reader.Read();
        return member;
    }

    private static Member NameOf(ref Utf8JsonReader reader) =>
        NameIs(ref reader, "pid"u8) ? Member.Pid
        : NameIs(ref reader, "data"u8) ? Member.Data
        : NameIs(ref reader, "exitCode"u8) ? Member.ExitCode
        : NameIs(ref reader, "signal"u8) ? Member.Signal
        : NameIs(ref reader, "truncated"u8) ? Member.Truncated
        : NameIs(ref reader, "timedOut"u8) ? Member.TimedOut
        : NameIs(ref reader, "oomKilled"u8) ? Member.OomKilled
        : NameIs(ref reader, "durationMs"u8) ? Member.DurationMs
        : NameIs(ref reader, "killed"u8) ? Member.Killed
        : NameIs(ref reader, "fullOutput"u8) ? Member.FullOutput
        : NameIs(ref reader, "networkRefusals"u8) ? Member.NetworkRefusals
        : NameIs(ref reader, "artifacts"u8) ? Member.Artifacts
        : NameIs(ref reader, "code"u8) ? Member.Code
        : NameIs(ref reader, "message"u8) ? Member.Message
        : Member.Other;

    internal static ref Utf8JsonReader Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"Expected {type} but found {reader.TokenType} in an exec event.");
        }
        return ref reader;
    }

    internal static int Int32(ref Utf8JsonReader reader) =>
        Expect(ref reader, JsonTokenType.Number).TryGetInt32(out var value) ? value : throw new JsonException("A number in an exec event is not a 32-bit integer.");

    internal static long Int64(ref Utf8JsonReader reader) =>
        Expect(ref reader, JsonTokenType.Number).TryGetInt64(out var value) ? value : throw new JsonException("A number in an exec event is not a 64-bit integer.");

    internal static bool Bool(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw new JsonException($"Expected a boolean but found {reader.TokenType} in an exec event."),
    };

    internal static string? String(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Null ? null : Expect(ref reader, JsonTokenType.String).GetString();
}
