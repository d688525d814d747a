using System.Text;
using System.Text.Json;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// The exit event's nested records, and member names as bytes.
internal static partial class ExecEventReader
{
    private static ExecKilled ReadKilled(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        string? reason = null, signal = null;
        int processGroup = 0, processes = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (NameIs(ref reader, "reason"u8)) { reader.Read(); reason = String(ref reader); }
            else if (NameIs(ref reader, "signal"u8)) { reader.Read(); signal = String(ref reader); }
            else if (NameIs(ref reader, "processGroup"u8)) { reader.Read(); processGroup = Int32(ref reader); }
            else if (NameIs(ref reader, "processes"u8)) { reader.Read(); processes = Int32(ref reader); }
            else { reader.Skip(); }
        }
        return new ExecKilled(reason!, signal!, processGroup, processes);
    }

    private static ExecFullOutput ReadFullOutput(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        string? id = null, stdout = null, stderr = null;
        long stdoutBytes = 0, stderrBytes = 0, droppedBytes = 0;
        var complete = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (NameIs(ref reader, "id"u8)) { reader.Read(); id = String(ref reader); }
            else if (NameIs(ref reader, "stdoutBytes"u8)) { reader.Read(); stdoutBytes = Int64(ref reader); }
            else if (NameIs(ref reader, "stderrBytes"u8)) { reader.Read(); stderrBytes = Int64(ref reader); }
            else if (NameIs(ref reader, "complete"u8)) { reader.Read(); complete = Bool(ref reader); }
            else if (NameIs(ref reader, "droppedBytes"u8)) { reader.Read(); droppedBytes = Int64(ref reader); }
            else if (NameIs(ref reader, "stdout"u8)) { reader.Read(); stdout = String(ref reader); }
            else if (NameIs(ref reader, "stderr"u8)) { reader.Read(); stderr = String(ref reader); }
            else { reader.Skip(); }
        }
        return new ExecFullOutput(id!, stdoutBytes, stderrBytes, complete, droppedBytes, stdout!, stderr!);
    }

    /// <summary>
    /// Whether the current member is <paramref name="name"/>, ignoring ASCII case as the serializer's
    /// web defaults do, and compared unescaped ("\u0070id" is "pid").
    /// </summary>
    private static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name) =>
        !reader.ValueIsEscaped && !reader.HasValueSequence
            ? Ascii.EqualsIgnoreCase(reader.ValueSpan, name)
            : string.Equals(reader.GetString(), Encoding.UTF8.GetString(name), StringComparison.OrdinalIgnoreCase);
}
