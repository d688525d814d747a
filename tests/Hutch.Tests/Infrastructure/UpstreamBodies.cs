using System.Globalization;
using System.Text;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// Reads a request body as a test upstream server must to see what a client (or the daemon, after
/// substituting) really sent: exactly Content-Length bytes, or chunks until the last one (trailers
/// read and dropped). A body that ends early or is framed wrong is null, so a test sees that too.
/// </summary>
internal static class UpstreamBodies
{
    private const int MaxBody = 8 << 20;

    /// <param name="stream">The connection, after the head.</param>
    /// <param name="read">Bytes already read past the head.</param>
    public static async Task<byte[]?> ReadAsync(Stream stream, byte[] read, string? contentLength, string? transferEncoding, CancellationToken cancel)
    {
        var input = new Input(stream, read);
        if (transferEncoding is not null)
        {
            return transferEncoding.Equals("chunked", StringComparison.OrdinalIgnoreCase) ? await ChunksAsync(input, cancel) : null;
        }
        if (!int.TryParse(contentLength ?? "0", NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > MaxBody)
        {
            return null;
        }
        return await input.ExactlyAsync(length, cancel);
    }

    private static async Task<byte[]?> ChunksAsync(Input input, CancellationToken cancel)
    {
        var body = new MemoryStream();
        while (true)
        {
            var line = await input.LineAsync(cancel);
            if (line is null || !int.TryParse(line.Split(';')[0].Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size)
                || body.Length + size > MaxBody)
            {
                return null;
            }
            if (size == 0)
            {
                while (await input.LineAsync(cancel) is { Length: > 0 })
                {
                    // a trailer field: not kept
                }
                return body.ToArray();
            }
            if (await input.ExactlyAsync(size, cancel) is not { } chunk || await input.LineAsync(cancel) != "")
            {
                return null;
            }
            body.Write(chunk);
        }
    }

    /// <summary>The stream, after what was read with the head.</summary>
    private sealed class Input(Stream stream, byte[] read)
    {
        private readonly Queue<byte> _pending = new(read);

        public async Task<byte[]?> ExactlyAsync(int count, CancellationToken cancel)
        {
            var bytes = new byte[count];
            var at = 0;
            while (at < count && _pending.Count > 0)
            {
                bytes[at++] = _pending.Dequeue();
            }
            while (at < count)
            {
                var n = await stream.ReadAsync(bytes.AsMemory(at), cancel);
                if (n == 0)
                {
                    return null;
                }
                at += n;
            }
            return bytes;
        }

        /// <summary>A line without its CRLF; null when the stream ends first.</summary>
        public async Task<string?> LineAsync(CancellationToken cancel)
        {
            var line = new List<byte>();
            while (true)
            {
                if (_pending.Count == 0 && await ExactlyAsync(1, cancel) is { } one)
                {
                    _pending.Enqueue(one[0]);
                }
                if (_pending.Count == 0)
                {
                    return null;
                }
                var b = _pending.Dequeue();
                if (b == '\n')
                {
                    return Encoding.Latin1.GetString([.. line]).TrimEnd('\r');
                }
                line.Add(b);
            }
        }
    }
}
