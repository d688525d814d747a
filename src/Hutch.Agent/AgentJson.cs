using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Redaction;

namespace Hutch.Agent;

/// <summary>
/// The control payloads (<see cref="AgentMessages"/> in Hutch.Protocol), read and written with
/// Utf8JsonReader/Utf8JsonWriter by hand. The daemon uses the source-generated
/// <see cref="AgentJsonContext"/>; here JsonSerializer alone would add 1.3 MB to a 1.5 MB binary
/// (and to every sandbox's RSS), so the agent speaks the same JSON (web defaults: camelCase names,
/// names matched case-insensitively, unknown properties ignored, numbers also accepted as
/// strings) with the reader and writer only. The agent tests drive it with AgentJsonContext on the
/// other side, which keeps both in step.
/// </summary>
internal static class AgentJson
{
    public delegate void Writer(Utf8JsonWriter json);

    public static ExecStart ReadExecStart(ReadOnlySpan<byte> payload)
    {
        var reader = Begin(payload);
        var command = new CommandFields();
        while (NextProperty(ref reader) is { } name)
        {
            if (!command.TryRead(name, ref reader))
            {
                reader.Skip();
            }
        }
        return command.ToExecStart();
    }

    public static ProcessStart ReadProcessStart(ReadOnlySpan<byte> payload)
    {
        var reader = Begin(payload);
        var command = new CommandFields();
        string? id = null, processName = null;
        long maxLogBytes = 0;
        TerminalRecord? terminal = null;
        while (NextProperty(ref reader) is { } name)
        {
            if (command.TryRead(name, ref reader))
            {
                continue;
            }
            if (Is(name, "id"))
            {
                id = ReadString(ref reader);
            }
            else if (Is(name, "name"))
            {
                processName = ReadString(ref reader);
            }
            else if (Is(name, "maxLogBytes"))
            {
                maxLogBytes = ReadInt64(ref reader);
            }
            else if (Is(name, "terminal"))
            {
                terminal = ReadTerminal(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        var c = command.ToExecStart();
        return new ProcessStart(id ?? "", processName, c.Argv, c.Env, c.Cwd, c.TimeoutMs, c.HasStdin, maxLogBytes, terminal, c.Redact);
    }

    /// <summary>The fields a one-shot command and a durable process share, read from either payload.</summary>
    private struct CommandFields
    {
        private string[]? _argv;
        private Dictionary<string, string>? _env;
        private string? _cwd;
        private long _timeoutMs, _maxOutputBytes, _scriptBytes;
        private bool _hasStdin;
        private RedactedSecret[]? _redact;

        public bool TryRead(string name, ref Utf8JsonReader reader)
        {
            if (Is(name, "argv"))
            {
                _argv = ReadStringArray(ref reader);
            }
            else if (Is(name, "env"))
            {
                _env = ReadStringMap(ref reader);
            }
            else if (Is(name, "cwd"))
            {
                _cwd = ReadString(ref reader);
            }
            else if (Is(name, "timeoutMs"))
            {
                _timeoutMs = ReadInt64(ref reader);
            }
            else if (Is(name, "maxOutputBytes"))
            {
                _maxOutputBytes = ReadInt64(ref reader);
            }
            else if (Is(name, "hasStdin"))
            {
                _hasStdin = ReadBool(ref reader);
            }
            else if (Is(name, "scriptBytes"))
            {
                _scriptBytes = ReadInt64(ref reader);
            }
            else if (Is(name, "redact"))
            {
                _redact = ReadSecrets(ref reader);
            }
            else
            {
                return false;
            }
            return true;
        }

        public readonly ExecStart ToExecStart() => new(_argv ?? [], _env ?? [], _cwd ?? "", _timeoutMs, _maxOutputBytes, _hasStdin, _scriptBytes, _redact);
    }

    /// <summary>A terminal size object ({cols, rows}), or null.</summary>
    private static TerminalRecord? ReadTerminal(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected a terminal object");
        }
        long cols = 0, rows = 0;
        while (NextProperty(ref reader) is { } name)
        {
            if (Is(name, "cols"))
            {
                cols = ReadInt64(ref reader);
            }
            else if (Is(name, "rows"))
            {
                rows = ReadInt64(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        return new TerminalRecord(ToInt32(cols), ToInt32(rows));
    }

    public static ExecKill ReadExecKill(ReadOnlySpan<byte> payload)
    {
        var reader = Begin(payload);
        var signal = 0L;
        while (NextProperty(ref reader) is { } name)
        {
            if (Is(name, "signal"))
            {
                signal = ReadInt64(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        return new ExecKill((int)Math.Clamp(signal, int.MinValue, int.MaxValue));
    }

    public static ProcessInput ReadProcessInput(ReadOnlySpan<byte> payload)
    {
        var reader = Begin(payload);
        string? id = null;
        byte[]? data = null;
        var eof = false;
        while (NextProperty(ref reader) is { } name)
        {
            if (Is(name, "id"))
            {
                id = ReadString(ref reader);
            }
            else if (Is(name, "data"))
            {
                data = reader.TokenType == JsonTokenType.Null ? null : reader.GetBytesFromBase64();
            }
            else if (Is(name, "eof"))
            {
                eof = ReadBool(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        return new ProcessInput(id ?? "", data, eof);
    }

    public static ProcessSignal ReadProcessSignal(ReadOnlySpan<byte> payload)
    {
        var reader = Begin(payload);
        string? id = null;
        long signal = 0, graceMs = 0;
        var childrenOnly = false;
        var foreground = false;
        while (NextProperty(ref reader) is { } name)
        {
            if (Is(name, "id"))
            {
                id = ReadString(ref reader);
            }
            else if (Is(name, "childrenOnly"))
            {
                childrenOnly = ReadBool(ref reader);
            }
            else if (Is(name, "signal"))
            {
                signal = ReadInt64(ref reader);
            }
            else if (Is(name, "graceMs"))
            {
                graceMs = ReadInt64(ref reader);
            }
            else if (Is(name, "foreground"))
            {
                foreground = ReadBool(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        return new ProcessSignal(id ?? "", ToInt32(signal), graceMs, childrenOnly, foreground);
    }

    public static SecretFile ReadSecretFile(ReadOnlySpan<byte> payload)
    {
        var reader = Begin(payload);
        var (fileName, value) = ReadNameAndValue(ref reader);
        return new SecretFile(fileName ?? "", value ?? []);
    }

    /// <summary>The properties of a {name, value (base64)} object the reader is at the start of.</summary>
    private static (string? Name, byte[]? Value) ReadNameAndValue(ref Utf8JsonReader reader)
    {
        string? text = null;
        byte[]? value = null;
        while (NextProperty(ref reader) is { } name)
        {
            if (Is(name, "name"))
            {
                text = ReadString(ref reader);
            }
            else if (Is(name, "value"))
            {
                value = reader.GetBytesFromBase64();
            }
            else
            {
                reader.Skip();
            }
        }
        return (text, value);
    }

    public static ProcessResize ReadProcessResize(ReadOnlySpan<byte> payload)
    {
        var reader = Begin(payload);
        string? id = null;
        long cols = 0, rows = 0;
        while (NextProperty(ref reader) is { } name)
        {
            if (Is(name, "id"))
            {
                id = ReadString(ref reader);
            }
            else if (Is(name, "cols"))
            {
                cols = ReadInt64(ref reader);
            }
            else if (Is(name, "rows"))
            {
                rows = ReadInt64(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        return new ProcessResize(id ?? "", ToInt32(cols), ToInt32(rows));
    }

    public static void Write(Utf8JsonWriter json, ProcessStartRecord start)
    {
        json.WriteString("id", start.Id);
        json.WriteString("name", start.Name);
        json.WriteStartArray("argv");
        foreach (var arg in start.Argv)
        {
            json.WriteStringValue(arg);
        }
        json.WriteEndArray();
        json.WriteString("cwd", start.Cwd);
        json.WriteNumber("pid", start.Pid);
        json.WriteNumber("startedAtMs", start.StartedAtMs);
        json.WriteNumber("maxLogBytes", start.MaxLogBytes);
        if (start.Origin is { } origin)
        {
            json.WriteString("origin", origin);
        }
        if (start.Terminal is { } terminal)
        {
            json.WriteStartObject("terminal");
            Write(json, terminal);
            json.WriteEndObject();
        }
    }

    public static void Write(Utf8JsonWriter json, TerminalRecord terminal)
    {
        json.WriteNumber("cols", terminal.Cols);
        json.WriteNumber("rows", terminal.Rows);
    }

    public static void Write(Utf8JsonWriter json, ProcessExitRecord exit)
    {
        WriteNullable(json, "exitCode", exit.ExitCode);
        WriteNullable(json, "signal", exit.Signal);
        json.WriteBoolean("timedOut", exit.TimedOut);
        json.WriteNumber("endedAtMs", exit.EndedAtMs);
        json.WriteNumber("durationMs", exit.DurationMs);
        json.WriteNumber("logBytes", exit.LogBytes);
    }

    public static void Write(Utf8JsonWriter json, AgentHello hello)
    {
        json.WriteString("version", hello.Version);
        json.WriteNumber("pid", hello.Pid);
        json.WriteNumber("uptimeMs", hello.UptimeMs);
    }

    public static void Write(Utf8JsonWriter json, ExecStarted started) => json.WriteNumber("pid", started.Pid);

    public static void Write(Utf8JsonWriter json, ExecExited exited)
    {
        WriteNullable(json, "exitCode", exited.ExitCode);
        WriteNullable(json, "signal", exited.Signal);
        json.WriteBoolean("timedOut", exited.TimedOut);
        json.WriteBoolean("truncated", exited.Truncated);
        json.WriteNumber("durationMs", exited.DurationMs);
        json.WriteNumber("killedProcesses", exited.KilledProcesses);
    }

    public static void Write(Utf8JsonWriter json, AgentError error)
    {
        json.WriteString("code", error.Code);
        json.WriteString("message", error.Message);
    }

    /// <summary>A frame buffer: <see cref="FrameCodec.HeaderSize"/> free bytes, then one JSON object. Returns the payload length.</summary>
    public static byte[] Frame(Writer properties, out int payloadLength)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        buffer.Advance(FrameCodec.HeaderSize);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            properties(json);
            json.WriteEndObject();
        }
        payloadLength = buffer.WrittenCount - FrameCodec.HeaderSize;
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static Utf8JsonReader Begin(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected a JSON object");
        }
        return reader;
    }

    /// <summary>Moves to the next property's value and returns its name; null at the end of the object.</summary>
    private static string? NextProperty(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of JSON");
        }
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return null;
        }
        var name = reader.GetString()!;
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of JSON");
        }
        return name;
    }

    /// <summary>Out-of-range numbers become int.MinValue/MaxValue, which every range check refuses.</summary>
    private static int ToInt32(long value) => (int)Math.Clamp(value, int.MinValue, int.MaxValue);

    private static bool Is(string name, string expected) => string.Equals(name, expected, StringComparison.OrdinalIgnoreCase);

    private static string? ReadString(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        _ => throw new JsonException($"expected a string"),
    };

    private static long ReadInt64(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => reader.GetInt64(),
        JsonTokenType.String when long.TryParse(reader.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) => value,
        _ => throw new JsonException($"expected an integer"),
    };

    private static bool ReadBool(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw new JsonException($"expected true or false"),
    };

    private static string[]? ReadStringArray(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"expected an array of strings");
        }
        var items = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(ReadString(ref reader) ?? throw new JsonException("null inside an array of strings"));
        }
        return [.. items];
    }

    /// <summary>An array of {name, value (base64)} objects, or null.</summary>
    private static RedactedSecret[]? ReadSecrets(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("expected an array of secrets");
        }
        var secrets = new List<RedactedSecret>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("expected a secret object");
            }
            var (secretName, value) = ReadNameAndValue(ref reader);
            secrets.Add(new RedactedSecret(secretName ?? throw new JsonException("a secret without a name"),
                value ?? throw new JsonException("a secret without a value")));
        }
        return [.. secrets];
    }

    private static Dictionary<string, string>? ReadStringMap(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"expected an object of strings");
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (NextProperty(ref reader) is { } name)
        {
            map[name] = ReadString(ref reader) ?? "";
        }
        return map;
    }
}
