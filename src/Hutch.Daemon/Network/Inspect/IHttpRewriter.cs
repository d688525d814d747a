namespace Hutch.Daemon.Network.Inspect;

/// <summary>
/// What an <see cref="HttpHostCheck"/> with an output does to the requests it passes on (secret
/// substitution inside intercepted TLS, <see cref="Interception.RequestRewriter"/>): every head is
/// rewritten, and a body it asks for is held whole, then rewritten, so its new length can be sent.
/// </summary>
internal interface IHttpRewriter
{
    /// <summary>The most body bytes held for one request; a longer body goes on as it comes.</summary>
    int MaxBody { get; }

    /// <summary>A whole head (Latin-1, its blank line included), rewritten.</summary>
    string RewriteHead(string head);

    /// <summary>Whether the body of the request with this head (it has one) is held for <see cref="RewriteBody"/>.</summary>
    bool WantsBody(string head);

    /// <summary>A held body, rewritten; null when it goes as it came.</summary>
    byte[]? RewriteBody(ReadOnlySpan<byte> body, string head);

    /// <summary>
    /// A body it wanted was longer than <see cref="MaxBody"/> and goes on unchanged: its
    /// Content-Length, or null when a chunked body grew past the limit.
    /// </summary>
    void TooLarge(string head, long? length);
}
