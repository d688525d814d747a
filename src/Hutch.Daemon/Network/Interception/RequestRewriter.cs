using System.Buffers;
using Hutch.Daemon.Network.Inspect;

namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// What a sandbox sends inside intercepted TLS, on its way to a secret's host: framed and checked
/// request by request as plain HTTP is (<see cref="HttpHostCheck"/>: Host, fronting), every head
/// through <see cref="SubstitutionTable.RewriteHead"/>, and, when a secret of the table says
/// "body", every request body of up to <see cref="MaxBody"/> bytes held whole and sent with its
/// placeholders replaced and a true Content-Length (<see cref="SubstitutionTable.RewriteBody"/>).
/// A body that cannot be rewritten goes on unchanged, so the host gets the worthless placeholder,
/// and a note says why: longer than the limit (<see cref="EgressCodes.SecretBodyTooLarge"/>), or
/// compressed (<see cref="EgressCodes.SecretBodyEncoded"/>: a gzip body is not inflated, as a
/// gzip response is not).
/// </summary>
public sealed class RequestRewriter : IHttpRewriter
{
    /// <summary>The most a request body held for substitution may be: a held body is in the daemon's memory whole.</summary>
    public const int MaxBody = 1024 * 1024;

    private readonly SubstitutionTable _table;
    private readonly int _maxBody;
    private readonly bool _bodies;
    private readonly HttpHostCheck _check;
    private readonly List<(string Code, string Message)> _notes = [];

    /// <param name="host">The name the connection was allowed for (every request's Host must name it).</param>
    /// <param name="table">The connection's placeholders.</param>
    /// <param name="maxBody">The limit for held bodies (<see cref="MaxBody"/>; smaller in tests).</param>
    public RequestRewriter(string host, SubstitutionTable table, int maxBody = MaxBody)
    {
        _table = table;
        _maxBody = maxBody;
        _bodies = table.Items.Any(i => i.InBody);
        _check = new HttpHostCheck(host, this);
    }

    /// <summary>
    /// Frames <paramref name="data"/> and writes what goes to the upstream now into
    /// <paramref name="output"/> (a held request's bytes only once it is whole). A refusal
    /// (fronting, a request that cannot be framed) carries the 403 to answer with.
    /// </summary>
    public Verdict Push(ReadOnlySpan<byte> data, IBufferWriter<byte> output) => _check.Observe(data, output);

    /// <summary>True when a held request waits for <c>100 Continue</c>: answer it before anything of that request reaches the upstream.</summary>
    public bool TakeContinue() => _check.TakeContinue();

    /// <summary>The notes since the last call: a body sent unchanged, with a stable code and what to do.</summary>
    public IReadOnlyList<(string Code, string Message)> TakeNotes()
    {
        if (_notes.Count == 0)
        {
            return [];
        }
        var notes = _notes.ToArray();
        _notes.Clear();
        return notes;
    }

    int IHttpRewriter.MaxBody => _maxBody;

    string IHttpRewriter.RewriteHead(string head) => _table.RewriteHead(head);

    bool IHttpRewriter.WantsBody(string head)
    {
        if (!_bodies)
        {
            return false;
        }
        var codings = HeadFields.Values(head, "Content-Encoding").Where(c => !c.Equals("identity", StringComparison.OrdinalIgnoreCase))
            .Concat(HeadFields.Values(head, "Transfer-Encoding").Where(c => !c.Equals("chunked", StringComparison.OrdinalIgnoreCase)))
            .ToArray();
        if (codings.Length > 0)
        {
            _notes.Add((EgressCodes.SecretBodyEncoded, $"a request body encoded as '{Quoted.Clip(string.Join(", ", codings), 40)}' "
                + "was sent unchanged: placeholders are replaced only in bodies that are not compressed (send it without Content-Encoding)"));
            return false;
        }
        return true;
    }

    byte[]? IHttpRewriter.RewriteBody(ReadOnlySpan<byte> body, string head) =>
        _table.RewriteBody(body, HeadFields.Values(head, "Content-Type").FirstOrDefault());

    void IHttpRewriter.TooLarge(string head, long? length) =>
        _notes.Add((EgressCodes.SecretBodyTooLarge, "a request body "
            + (length is { } bytes ? $"of {bytes} bytes" : "(chunked)") + $" is over the {Limit} a body is read whole for substitution, "
            + "and was sent unchanged: placeholders in it were not replaced"));

    private string Limit => _maxBody % MaxBody == 0 ? $"{_maxBody / MaxBody} MiB" : $"{_maxBody} bytes";
}
