using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>
/// After a streamed body was refused midway (disk_full, file_too_large, a refused archive member),
/// reads and discards what the client is still sending, up to a bound, so that it gets to read the
/// answer: HttpClient hands over a response only once its body has been sent, and a connection
/// closed under it is all it can report otherwise. Beyond the bound the connection is closed.
/// Only for refusals of the content, which come once the body is being read: draining after one
/// about the path or the sandbox would invite a client waiting on "Expect: 100-continue" to send it.
/// </summary>
internal static class BodyDrain
{
    private const long MaxBytes = 256 << 20;

    private static readonly HashSet<string> ContentRefusals =
        [ErrorCodes.DiskFull, ErrorCodes.FileTooLarge, ErrorCodes.ArchiveRefused, ErrorCodes.ArchiveInvalid, ErrorCodes.ArchiveTooLarge];

    public static async Task<IResult> RunAsync(HttpContext context, Func<Task<IResult>> read)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (Exception e) when (e is Hutch.Files.WorkspaceException w && ContentRefusals.Contains(w.Code) || e is Hutch.Runtime.Templates.TemplateException)
        {
            await DiscardRestAsync(context).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Uploads and imports are streamed to disk; the feature's own limit applies instead of Kestrel's 30 MB.</summary>
    public static void AllowLargeBody(HttpContext context)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = null;
        }
    }

    private static async Task DiscardRestAsync(HttpContext context)
    {
        var body = context.Request.BodyReader;
        long discarded = 0;
        try
        {
            while (discarded < MaxBytes)
            {
                var read = await body.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                discarded += read.Buffer.Length;
                body.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The client is gone or cut off (BadHttpRequestException is an IOException): nobody to answer.
        }
    }
}
