namespace Hutch.Daemon.Network.Inspect;

/// <summary>What a check says of the bytes it was shown.</summary>
/// <param name="Done">Nothing more to check on this connection: relay the rest unseen.</param>
/// <param name="Refused">Why the connection must end (for the event); null to go on.</param>
/// <param name="Reply">What the client is told before it ends: a TLS alert or an HTTP 403.</param>
public readonly record struct Verdict(bool Done, string? Refused = null, byte[]? Reply = null)
{
    public static Verdict Continue => new(false);

    public static Verdict Finished => new(true);
}

/// <summary>
/// Watches what a sandbox sends on a connection to an allowed name before it is relayed, so the name
/// the policy allowed is the name the upstream is asked for (docs/design/0009, section 3, TCP proxy
/// step 4): a TLS ClientHello's SNI, or every plain HTTP request's Host, must be that name or none.
/// Shown each chunk before it is forwarded; a refused chunk is never forwarded.
/// </summary>
public sealed class ClientCheck(string host)
{
    private TlsSniCheck? _tls;
    private HttpHostCheck? _http;
    private List<byte>? _start;
    private bool _done;

    public Verdict Observe(ReadOnlySpan<byte> chunk)
    {
        if (_done || chunk.IsEmpty)
        {
            return new Verdict(_done);
        }
        if (_tls is null && _http is null)
        {
            if (_start is null && TlsClientHello.LooksLikeTls(chunk))
            {
                _tls = new TlsSniCheck(host);
            }
            else
            {
                return Classify(chunk);
            }
        }
        return Finish(_tls is not null ? _tls.Observe(chunk) : _http!.Observe(chunk));
    }

    /// <summary>
    /// Plain HTTP is told by its first line (a method, then " HTTP/1." at its end): only such a request
    /// can carry a Host a server reads. Until that line is whole, its bytes go on (a part of a request
    /// line asks nothing of the server) and are kept, so the framer then reads the request from its start.
    /// </summary>
    private Verdict Classify(ReadOnlySpan<byte> chunk)
    {
        if (_start is null && !HttpHostCheck.LooksLikeHttp(chunk))
        {
            return Finish(Verdict.Finished); // another protocol (SSH, a database…): nothing names a host in it
        }
        _start ??= [];
        _start.AddRange(chunk);
        var seen = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_start);
        var lf = seen.IndexOf((byte)'\n');
        if (lf < 0)
        {
            // Never given up on: a request line longer than this check reads is refused (by the framer's cap), not passed.
            return _start.Count > HttpHostCheck.MaxHead ? Finish(new HttpHostCheck(host).Observe(seen)) : Verdict.Continue;
        }
        if (!HttpHostCheck.IsRequestLine(seen[..lf]))
        {
            return Finish(Verdict.Finished); // a text protocol that is not HTTP (Redis, SMTP commands…)
        }
        _http = new HttpHostCheck(host);
        var verdict = _http.Observe(seen);
        _start = null;
        return Finish(verdict);
    }

    private Verdict Finish(Verdict verdict)
    {
        _done = verdict.Done || verdict.Refused is not null;
        return verdict;
    }

    /// <summary>Whether two spellings name the same host (after <see cref="HostName"/> normalization).</summary>
    internal static bool SameHost(string allowed, string asked) =>
        HostName.Normalize(asked, out _) is { } name && string.Equals(name, allowed, StringComparison.Ordinal);
}

/// <summary>The TLS half of <see cref="ClientCheck"/>: gathers the ClientHello and compares its SNI.</summary>
internal sealed class TlsSniCheck(string host)
{
    /// <summary>A fatal access_denied alert (TLS 1.2 record version, as every version sends it): curl prints "tlsv1 alert access denied".</summary>
    private static readonly byte[] AccessDenied = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31];

    private readonly List<byte> _seen = [];

    public Verdict Observe(ReadOnlySpan<byte> chunk)
    {
        _seen.AddRange(chunk[..Math.Min(chunk.Length, TlsClientHello.MaxBytes - _seen.Count + 1)]);
        var state = TlsClientHello.Read(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_seen), out var sni);
        return state switch
        {
            HelloState.NeedMore => Verdict.Continue,
            HelloState.Complete when sni is null || ClientCheck.SameHost(host, sni) => Verdict.Finished,
            HelloState.Complete => new Verdict(true, $"the TLS server name (SNI) '{Quoted.Clip(sni!)}' is not {host}, the name this connection was allowed for (domain fronting)", AccessDenied),
            _ => new Verdict(true, $"the connection to {host} began like TLS but its ClientHello could not be read", AccessDenied),
        };
    }
}
