using Hutch.Daemon.Http;
using Hutch.Protocol.Redaction;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// The last line of redaction: every JSON answer (and NDJSON stream, and problem) of a route under
/// <c>/v1/sandboxes/{id}</c> goes through the sandbox's redactor on its way out, so a file name, an
/// error message, a process's command line or a search hit that holds a secret's value shows its
/// marker instead. Byte downloads (octet-stream: file content, exports) and forwarded ports
/// (<c>…/tcp/{port}</c>) are left as they are (docs/secrets.md). Output that was redacted where it was made (exec, logs) passes again
/// unchanged: a marker holds no value.
/// </summary>
internal sealed class ResponseRedaction : Stream
{
    private readonly HttpResponse _response;
    private readonly Stream _inner;
    private readonly Redactor _redactor;
    private readonly System.Buffers.ArrayBufferWriter<byte> _output = new();
    private bool? _active;

    private ResponseRedaction(HttpResponse response, RedactionSet set) =>
        (_response, _inner, _redactor) = (response, response.Body, new Redactor(set));

    /// <summary>Puts redaction on the response of a request for a sandbox that holds secrets; null otherwise.</summary>
    public static ResponseRedaction? Begin(HttpContext context, SandboxDirectory directory)
    {
        if (!directory.Secrets.InUse || SandboxOf(context.Request.Path) is not { } idOrName
            || directory.Registry.Find(idOrName) is not { } record
            || directory.Secrets.RedactionOf(record.Id) is not { Count: > 0 } set)
        {
            return null;
        }
        var redaction = new ResponseRedaction(context.Response, set);
        context.Response.Body = redaction;
        return redaction;
    }

    /// <summary>The request is done: what the redactor held goes out, and the response's own body is put back.</summary>
    public async Task EndAsync()
    {
        if (_active == true)
        {
            _redactor.Flush(_output);
            await WriteOutputAsync(CancellationToken.None).ConfigureAwait(false);
        }
        _response.Body = _inner;
    }

    private static string? SandboxOf(PathString path)
    {
        const string Prefix = "/v1/sandboxes/";
        var text = path.Value;
        if (text is null || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var rest = text.AsSpan(Prefix.Length);
        var end = rest.IndexOf('/');
        if (end == 0 || (end > 0 && rest[end..].StartsWith("/tcp/", StringComparison.Ordinal)))
        {
            return null; // a forwarded port: whatever the sandbox's server answers passes as it is
        }
        return (end < 0 ? rest : rest[..end]).ToString();
    }

    private static bool IsText(string? contentType) => contentType is not null
        && (contentType.Contains("json", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase));

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Decided at the first write, when the answer's type is known and nothing has been sent yet
        // (the server's own start comes with the first bytes that reach it, after this).
        if (_active is null)
        {
            _active = IsText(_response.ContentType) && !SourceRedacted.IsMarked(_response.HttpContext);
            if (_active == true && !_response.HasStarted)
            {
                _response.ContentLength = null; // redaction changes the length
            }
        }
        if (_active != true)
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }
        _redactor.Push(buffer.Span, _output);
        await WriteOutputAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override void Flush() => _inner.Flush();

    private async Task WriteOutputAsync(CancellationToken cancellationToken)
    {
        if (_output.WrittenCount > 0)
        {
            await _inner.WriteAsync(_output.WrittenMemory, cancellationToken).ConfigureAwait(false);
            _output.ResetWrittenCount();
        }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
