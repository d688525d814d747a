using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hutch.Daemon.Http;

/// <summary>
/// Writing a JSON answer that holds output of any size (<see cref="OutputBuffer"/>s) without ever
/// building it as one string: the output's strings are written in segments straight from their
/// buffers and flushed as they go, at the client's pace. The rest of the object is written with the
/// daemon's HTTP JSON options, so the bytes are what serializing the whole record would give.
/// </summary>
public static class OutputJson
{
    /// <summary>Starts a 200 JSON answer; returns the options its values are written with.</summary>
    public static JsonSerializerOptions Begin(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
    }

    public static Utf8JsonWriter Writer(PipeWriter body, JsonSerializerOptions options) =>
        new(body, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented });

    /// <summary>
    /// One output as a JSON string property, chunk by chunk: base64 of the bytes, or their UTF-8 text
    /// with invalid bytes as U+FFFD (a stateful decoder, so a character split between chunks stays whole).
    /// </summary>
    public static async Task WriteOutputAsync(Utf8JsonWriter json, PipeWriter body, string name, OutputBuffer output, bool base64, CancellationToken cancellationToken)
    {
        json.WritePropertyName(name);
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
    public static async ValueTask FlushAsync(Utf8JsonWriter json, PipeWriter body, CancellationToken cancellationToken)
    {
        json.Flush();
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
