using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>
/// Writes a <see cref="CollectedExec"/> as the <see cref="ExecResult"/> JSON the API documents,
/// with stdout and stderr streamed from their buffers (<see cref="OutputJson"/>): a 1 GiB output
/// leaves the daemon at the client's pace and is never one string, array or response buffer.
/// </summary>
public static class ExecResultJson
{
    /// <summary>Answers 200 with <paramref name="result"/>, using the daemon's HTTP JSON options.</summary>
    public static Task WriteAsync(HttpContext context, CollectedExec result) =>
        WriteAsync(context.Response.BodyWriter, result, OutputJson.Begin(context), context.RequestAborted);

    public static async Task WriteAsync(PipeWriter body, CollectedExec result, JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        var skipNulls = options.DefaultIgnoreCondition == JsonIgnoreCondition.WhenWritingNull;
        await using var json = OutputJson.Writer(body, options);
        json.WriteStartObject();
        if (result.ExitCode is { } code)
        {
            json.WriteNumber("exitCode", code);
        }
        else if (!skipNulls)
        {
            json.WriteNull("exitCode");
        }
        if (result.Signal is { } signal)
        {
            json.WriteString("signal", signal);
        }
        else if (!skipNulls)
        {
            json.WriteNull("signal");
        }
        var base64 = result.Encoding == "base64";
        await OutputJson.WriteOutputAsync(json, body, "stdout", result.Stdout, base64, cancellationToken).ConfigureAwait(false);
        await OutputJson.WriteOutputAsync(json, body, "stderr", result.Stderr, base64, cancellationToken).ConfigureAwait(false);
        json.WriteString("encoding", result.Encoding);
        json.WriteBoolean("truncated", result.Truncated);
        json.WriteBoolean("timedOut", result.TimedOut);
        json.WriteBoolean("oomKilled", result.OomKilled);
        json.WriteNumber("durationMs", result.DurationMs);
        // Left out when null, whatever the options (ExecResult says so): they are there only when something happened.
        WriteObject(json, "killed", result.Killed, options);
        WriteObject(json, "fullOutput", result.FullOutput, options);
        if (WireEvents.Tail(result.StdoutTail, result.Encoding) is { } stdoutTail)
        {
            json.WriteString("stdoutTail", stdoutTail);
        }
        if (WireEvents.Tail(result.StderrTail, result.Encoding) is { } stderrTail)
        {
            json.WriteString("stderrTail", stderrTail);
        }
        WriteObject(json, "networkRefusals", result.NetworkRefusals, options);
        WriteObject(json, "artifacts", result.Artifacts, options);
        json.WriteEndObject();
        await OutputJson.FlushAsync(json, body, cancellationToken).ConfigureAwait(false);
    }

    private static void WriteObject<T>(Utf8JsonWriter json, string name, T? value, JsonSerializerOptions options) where T : class
    {
        if (value is not null)
        {
            json.WritePropertyName(name);
            JsonSerializer.Serialize(json, value, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
        }
    }
}
