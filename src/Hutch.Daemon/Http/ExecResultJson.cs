using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hutch.Daemon.Engine;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hutch.Daemon.Http;

/// <summary>
/// Writes a <see cref="CollectedExec"/> as the <see cref="ExecResult"/> JSON the API documents, the
/// same bytes serializing an ExecResult gives, but with stdout and stderr written as string segments
/// straight from their buffers and flushed as they go. A 1 GiB output then leaves the daemon at the
/// client's pace and is never one string, one array or one response buffer in the daemon.
/// </summary>
public static class ExecResultJson
{
    /// <summary>Answers 200 with <paramref name="result"/>, using the daemon's HTTP JSON options.</summary>
    public static Task WriteAsync(HttpContext context, CollectedExec result)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        return WriteAsync(context.Response.BodyWriter, result, options, context.RequestAborted);
    }

    public static async Task WriteAsync(PipeWriter body, CollectedExec result, JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        var skipNulls = options.DefaultIgnoreCondition == JsonIgnoreCondition.WhenWritingNull;
        await using var json = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented });
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
        await WriteOutputAsync(json, body, "stdout", result.Stdout, result.Encoding, cancellationToken).ConfigureAwait(false);
        await WriteOutputAsync(json, body, "stderr", result.Stderr, result.Encoding, cancellationToken).ConfigureAwait(false);
        json.WriteString("encoding", result.Encoding);
        json.WriteBoolean("truncated", result.Truncated);
        json.WriteBoolean("timedOut", result.TimedOut);
        json.WriteBoolean("oomKilled", result.OomKilled);
        json.WriteNumber("durationMs", result.DurationMs);
        json.WriteEndObject();
        await FlushAsync(json, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One output as a JSON string, chunk by chunk: base64 of the bytes, or their UTF-8 text with
    /// invalid bytes as U+FFFD (a stateful decoder, so a character split between chunks stays whole).
    /// </summary>
    private static async Task WriteOutputAsync(Utf8JsonWriter json, PipeWriter body, string name, OutputBuffer output, string encoding, CancellationToken cancellationToken)
    {
        json.WritePropertyName(name);
        var base64 = encoding == "base64";
        var decoder = base64 ? null : Encoding.UTF8.GetDecoder();
        var chars = base64 ? null : new char[Encoding.UTF8.GetMaxCharCount(OutputBuffer.ChunkSize)];
        foreach (var chunk in output.Chunks())
        {
            if (base64)
            {
                json.WriteBase64StringSegment(chunk.Span, isFinalSegment: false);
            }
            else
            {
                var n = decoder!.GetChars(chunk.Span, chars, flush: false);
                json.WriteStringValueSegment(chars.AsSpan(0, n), isFinalSegment: false);
            }
            await FlushAsync(json, body, cancellationToken).ConfigureAwait(false);
        }
        if (base64)
        {
            json.WriteBase64StringSegment([], isFinalSegment: true);
        }
        else
        {
            var n = decoder!.GetChars([], chars, flush: true);
            json.WriteStringValueSegment(chars.AsSpan(0, n), isFinalSegment: true);
        }
    }

    /// <summary>Hands what the writer holds to the response and waits while the client is slow (back-pressure).</summary>
    private static async ValueTask FlushAsync(Utf8JsonWriter json, PipeWriter body, CancellationToken cancellationToken)
    {
        json.Flush();
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
