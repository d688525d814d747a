using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>
/// Writes a <see cref="LogWindow"/> as the <see cref="ProcessLogs"/> (or, for a terminal,
/// <see cref="ShellOutput"/>) JSON the API documents, its output streamed from its buffers
/// (<see cref="OutputJson"/>): a 16 MiB window costs the daemon a few MiB, not a dozen copies.
/// </summary>
public static class LogWindowJson
{
    public static Task WriteProcessLogsAsync(HttpContext context, LogWindow window, bool base64) =>
        WriteProcessLogsAsync(context.Response.BodyWriter, window, base64, OutputJson.Begin(context), context.RequestAborted);

    public static Task WriteShellOutputAsync(HttpContext context, LogWindow window, bool base64) =>
        WriteShellOutputAsync(context.Response.BodyWriter, window, base64, OutputJson.Begin(context), context.RequestAborted);

    public static async Task WriteProcessLogsAsync(PipeWriter body, LogWindow window, bool base64, JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        await using var json = OutputJson.Writer(body, options);
        json.WriteStartObject();
        await OutputJson.WriteOutputAsync(json, body, "stdout", window.Stdout, base64, cancellationToken).ConfigureAwait(false);
        await OutputJson.WriteOutputAsync(json, body, "stderr", window.Stderr, base64, cancellationToken).ConfigureAwait(false);
        WriteRest(json, window, base64, "process", options);
        await OutputJson.FlushAsync(json, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A terminal writes a single stream (stdout).</summary>
    public static async Task WriteShellOutputAsync(PipeWriter body, LogWindow window, bool base64, JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        await using var json = OutputJson.Writer(body, options);
        json.WriteStartObject();
        await OutputJson.WriteOutputAsync(json, body, "data", window.Stdout, base64, cancellationToken).ConfigureAwait(false);
        WriteRest(json, window, base64, "shell", options);
        await OutputJson.FlushAsync(json, body, cancellationToken).ConfigureAwait(false);
    }

    private static void WriteRest(Utf8JsonWriter json, LogWindow window, bool base64, string processName, JsonSerializerOptions options)
    {
        json.WriteString("encoding", base64 ? "base64" : "utf8");
        json.WriteNumber("cursor", window.Cursor);
        json.WriteNumber("dropped", window.Dropped);
        json.WriteBoolean("more", window.More);
        json.WritePropertyName(processName);
        JsonSerializer.Serialize(json, window.Process, (JsonTypeInfo<ProcessInfo>)options.GetTypeInfo(typeof(ProcessInfo)));
        json.WriteEndObject();
    }
}
