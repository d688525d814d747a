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
    private bool _done;

    public Verdict Observe(ReadOnlySpan<byte> chunk)
    {
        if (_done || chunk.IsEmpty)
        {
            return new Verdict(_done);
        }
        if (_tls is null && _http is null)
        {
            if (TlsClientHello.LooksLikeTls(chunk))
            {
                _tls = new TlsSniCheck(host);
            }
            else if (HttpHostCheck.LooksLikeHttp(chunk))
            {
                _http = new HttpHostCheck(host);
            }
            else
            {
                _done = true; // another protocol (SSH, a database…): nothing names a host in it
                return Verdict.Finished;
            }
        }
        var verdict = _tls is not null ? _tls.Observe(chunk) : _http!.Observe(chunk);
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
            HelloState.Complete => new Verdict(true, $"the TLS server name (SNI) '{Shown(sni!)}' is not {host}, the name this connection was allowed for (domain fronting)", AccessDenied),
            _ => new Verdict(true, $"the connection to {host} began like TLS but its ClientHello could not be read", AccessDenied),
        };
    }

    internal static string Shown(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
