using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>Streams events as NDJSON, one flushed line each, so a client sees every event as it happens.</summary>
internal static class Ndjson
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    /// <summary>
    /// Writes <paramref name="source"/> to the response. The first event is produced before any
    /// header is sent, so validation and lookups fail with a problem instead of a broken 200.
    /// </summary>
    public static async Task WriteAsync<T>(HttpContext context, IAsyncEnumerable<T> source, JsonTypeInfo<T> type)
    {
        var events = source.GetAsyncEnumerator(context.RequestAborted);
        try
        {
            if (!await events.MoveNextAsync())
            {
                return;
            }
            context.Response.ContentType = "application/x-ndjson";
            context.Response.Headers.CacheControl = "no-store";
            var body = context.Response.Body;
            do
            {
                await JsonSerializer.SerializeAsync(body, events.Current, type, context.RequestAborted);
                await body.WriteAsync(NewLine, context.RequestAborted);
                await body.FlushAsync(context.RequestAborted);
            }
            while (await events.MoveNextAsync());
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left; whatever produced the events decides what runs on.
        }
        finally
        {
            await events.DisposeAsync();
        }
    }
}
