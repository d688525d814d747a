using System.Buffers;
using System.Text;

namespace Hutch.Daemon.Network.Inspect;

/// <summary>
/// Holding a request whose body the rewriter asks for. Its head waits while the body is read whole
/// (Content-Length, or chunked: decoded, chunk lines dropped), up to the rewriter's MaxBody; then
/// the head goes with one Content-Length of the rewritten body and without Transfer-Encoding (or,
/// when a chunked body had trailers, still chunked: the body as one chunk, then the trailers). A
/// Content-Length over the limit is never held; a chunked body that grows past it goes on as it came
/// from there (what was held as one chunk first), so the upstream gets either the whole rewritten
/// request or the unchanged one, never a mix. The requests after it are framed and checked as any
/// (pipelined ones included); the held request goes out before them.
/// A client that sent <c>Expect: 100-continue</c> sends the body only after an answer, and the
/// upstream cannot answer a head it has not been sent: the daemon owes that client the
/// <c>100 Continue</c> itself (<see cref="TakeContinue"/>) and sends the head on without Expect.
/// </summary>
internal sealed partial class HttpHostCheck
{
    private HeldRequest? _held;
    private bool _continueOwed;

    /// <summary>True once for each held request that waits for <c>100 Continue</c>: the caller answers it, before the upstream's answers to it.</summary>
    public bool TakeContinue()
    {
        var owed = _continueOwed;
        _continueOwed = false;
        return owed;
    }

    /// <summary>A whole head that has a body: held when the rewriter wants the body and its Content-Length is within the limit.</summary>
    private bool StartHold(string head)
    {
        if (rewriter is null || _state is not (FramerState.Body or FramerState.ChunkSize) || !rewriter.WantsBody(head))
        {
            return false;
        }
        if (_state == FramerState.Body && _remaining > rewriter.MaxBody)
        {
            rewriter.TooLarge(head, _remaining);
            return false;
        }
        // RFC 9110 10.1.1: an HTTP/1.0 request's expectation is ignored.
        var expects = head.Split('\n')[0].TrimEnd('\r').EndsWith(" HTTP/1.1", StringComparison.Ordinal)
            && HeadFields.Values(head, "Expect").Any(v => v.Equals("100-continue", StringComparison.OrdinalIgnoreCase));
        _continueOwed |= expects;
        _held = new HeldRequest(head, expects, _state == FramerState.Body ? (int)_remaining : 16 * 1024);
        return true;
    }

    /// <summary>Body bytes of the held request; past the limit, it goes on as it came.</summary>
    private void Hold(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        var held = _held!;
        if (held.Body.WrittenCount + data.Length <= rewriter!.MaxBody)
        {
            held.Body.Write(data);
            return;
        }
        // Only a chunked body gets here: what was held goes as one chunk, the rest of this chunk
        // (_remaining bytes, these included) under a size line of its own, and the chunks after it as they are.
        _held = null;
        rewriter.TooLarge(held.Head, null);
        output.Write(Encoding.Latin1.GetBytes(HeadFields.Edit(rewriter.RewriteHead(held.Head), null, held.Without())));
        WriteChunk(output, held.Body.WrittenSpan);
        output.Write(Encoding.ASCII.GetBytes($"{_remaining:x}\r\n"));
        output.Write(data);
    }

    /// <summary>A trailer line of the held request (the blank line that ends them too); false past the head's limit.</summary>
    private bool HoldTrailer(ReadOnlySpan<byte> line, string text)
    {
        var held = _held!;
        if (text.Trim().Length > 0 || held.Trailers is not null)
        {
            held.Trailers ??= new ArrayBufferWriter<byte>();
            held.Trailers.Write(line);
        }
        return held.Trailers is null || held.Trailers.WrittenCount <= MaxHead;
    }

    /// <summary>The held request is whole: it goes out rewritten, with the length it now has.</summary>
    private void Release(IBufferWriter<byte>? output)
    {
        if (_held is not { } held || output is null) // a request is held only where there is an output
        {
            return;
        }
        _held = null;
        var rewritten = rewriter!.RewriteBody(held.Body.WrittenSpan, held.Head);
        var body = rewritten is null ? held.Body.WrittenSpan : rewritten;
        var head = rewriter.RewriteHead(held.Head);
        if (held.Trailers is null)
        {
            output.Write(Encoding.Latin1.GetBytes(HeadFields.Edit(head, body.Length, held.Without("Transfer-Encoding"))));
            output.Write(body);
            return;
        }
        // Trailers can only follow chunks: the body stays chunked, in one chunk.
        output.Write(Encoding.Latin1.GetBytes(HeadFields.Edit(head, null, held.Without())));
        WriteChunk(output, body);
        output.Write("0\r\n"u8);
        output.Write(held.Trailers.WrittenSpan);
    }

    private static void WriteChunk(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (data.Length > 0)
        {
            output.Write(Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"));
            output.Write(data);
            output.Write("\r\n"u8);
        }
    }

    private sealed class HeldRequest(string head, bool expects, int capacity)
    {
        public string Head => head;

        public ArrayBufferWriter<byte> Body { get; } = new(Math.Max(capacity, 1));

        /// <summary>The trailer lines of a chunked body, the blank line after them included; null when it had none.</summary>
        public ArrayBufferWriter<byte>? Trailers { get; set; }

        /// <summary>The fields the head goes on without: Expect once the daemon answered it, and <paramref name="more"/>.</summary>
        public string[] Without(params string[] more) => expects ? [.. more, "Expect"] : more;
    }
}
