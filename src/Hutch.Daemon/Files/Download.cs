using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Files;

/// <summary>
/// Sends a whole file as the response body by reading it straight into the response pipe's memory
/// in 1 MiB blocks: one copy fewer than Stream.CopyToAsync and far fewer, larger writes (64 KiB by
/// default), which is most of a 1 GiB download's CPU time on a 2-core host.
/// </summary>
internal static class Download
{
    private const int BlockSize = 1 << 20;

    /// <summary>
    /// How many bytes answering would send: the one range asked for, else the whole file (ASP.NET
    /// serves several ranges, or a range it cannot satisfy, as the whole file or nothing).
    /// </summary>
    public static long ServedLength(HttpRequest request, long size)
    {
        var ranges = request.GetTypedHeaders().Range?.Ranges;
        if (ranges is not { Count: 1 })
        {
            return size;
        }
        var range = ranges.First();
        return (range.From, range.To) switch
        {
            (null, { } suffix) => Math.Min(suffix, size),
            ({ } from, null) => Math.Max(0, size - from),
            ({ } from, { } to) => Math.Max(0, Math.Min(to, size - 1) - from + 1),
            _ => size,
        };
    }

    /// <summary>
    /// A response is held to the daemon's file size limit (HUTCH_MAX_FILE_BYTES), like an upload: a
    /// sandbox can make a file of any apparent size (truncate -s 1T) that would otherwise stream for hours.
    /// </summary>
    public static Hutch.Files.WorkspaceException TooLarge(string path, long size, long maxBytes) => new(Hutch.Protocol.Api.ErrorCodes.FileTooLarge,
        $"'{path}' is {size} bytes, more than one download may send ({maxBytes} bytes, the daemon's HUTCH_MAX_FILE_BYTES). " +
        $"Download it in parts with a Range header (bytes=0-{maxBytes - 1}, then on), each at most that long.");

    public static async Task SendAsync(HttpResponse response, SafeFileHandle file, long size, CancellationToken cancellationToken)
    {
        response.ContentType = "application/octet-stream";
        response.ContentLength = size;
        var writer = response.BodyWriter;
        long offset = 0;
        while (offset < size)
        {
            var memory = writer.GetMemory(BlockSize);
            var n = RandomAccess.Read(file, memory.Span[..(int)Math.Min(memory.Length, size - offset)], offset);
            if (n == 0)
            {
                // The file shrank since it was opened: the client sees a body shorter than Content-Length, an error.
                response.HttpContext.Abort();
                return;
            }
            writer.Advance(n);
            offset += n;
            var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return;
            }
        }
    }
}
