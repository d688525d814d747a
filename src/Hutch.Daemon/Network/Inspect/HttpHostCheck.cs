using System.Buffers;
using System.Globalization;
using System.Text;

namespace Hutch.Daemon.Network.Inspect;

/// <summary>
/// The plain-HTTP half of <see cref="ClientCheck"/>: a small HTTP/1.1 request framer that follows
/// every request on the connection (head, then a Content-Length or chunked body) and checks each
/// head's Host, and an absolute-form target's authority, against the allowed name. A request it
/// cannot frame for sure (both Content-Length and Transfer-Encoding, two Host headers, a head over
/// 64 KiB) is refused rather than guessed at: the server could frame it otherwise and read a second
/// request this check never saw. After an Upgrade (WebSocket) or CONNECT the bytes are no longer HTTP.
/// Given an output, it also passes the bytes on, each head through <paramref name="rewriter"/>
/// (secret substitution inside intercepted TLS): a head is held until it is whole, bodies and chunk
/// lines go out as they are framed, but for a body the rewriter asks for (HttpHostCheck.Hold.cs).
/// </summary>
internal sealed partial class HttpHostCheck(string host, IHttpRewriter? rewriter = null)
{
    internal const int MaxHead = 64 * 1024;
    private const int MaxLine = 4096;

    private enum FramerState { Head, Body, ChunkSize, ChunkData, ChunkEnd, Trailer }

    private readonly List<byte> _line = [];
    private FramerState _state = FramerState.Head;
    private long _remaining;

    /// <summary>True when the bytes start with an HTTP method and a space (<c>GET /</c>, <c>POST http://…</c>).</summary>
    public static bool LooksLikeHttp(ReadOnlySpan<byte> first)
    {
        var space = first.IndexOf((byte)' ');
        var token = space < 0 ? first : first[..space];
        return token.Length is > 0 and <= 16 && !token.ContainsAnyExceptInRange((byte)'A', (byte)'Z') && (space > 0 || first.Length < 17);
    }

    /// <summary>A first line that ends in " HTTP/1.x" (a CR allowed), as every HTTP/1 request line does.</summary>
    public static bool IsRequestLine(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd((byte)'\r');
        return line.Length > 9 && line[^9..^1].SequenceEqual(" HTTP/1."u8);
    }

    public Verdict Observe(ReadOnlySpan<byte> data, IBufferWriter<byte>? output = null)
    {
        while (!data.IsEmpty)
        {
            switch (_state)
            {
                case FramerState.Body or FramerState.ChunkData:
                    var n = (int)Math.Min(_remaining, data.Length);
                    if (_held is not null)
                    {
                        Hold(data[..n], output!);
                    }
                    else
                    {
                        output?.Write(data[..n]);
                    }
                    data = data[n..];
                    _remaining -= n;
                    if (_remaining == 0)
                    {
                        _state = _state == FramerState.Body ? FramerState.Head : FramerState.ChunkEnd;
                        if (_state == FramerState.Head)
                        {
                            Release(output);
                        }
                    }
                    break;
                default:
                    var lf = data.IndexOf((byte)'\n');
                    var take = lf < 0 ? data.Length : lf + 1;
                    _line.AddRange(data[..take]);
                    data = data[take..];
                    if (_line.Count > (_state == FramerState.Head ? MaxHead : MaxLine))
                    {
                        return Refuse($"a request head or chunk line to {host} is longer than this check reads");
                    }
                    if (lf >= 0 && LineDone(output) is { } verdict)
                    {
                        if (verdict.Refused is null)
                        {
                            output?.Write(data); // after an Upgrade or CONNECT: not HTTP, passed on as it is
                        }
                        return verdict;
                    }
                    break;
            }
        }
        return Verdict.Continue;
    }

    /// <summary>A line (or, for a head, a line that may end it) is complete; a verdict when the check ends.</summary>
    private Verdict? LineDone(IBufferWriter<byte>? output)
    {
        var line = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line);
        var text = Encoding.Latin1.GetString(line);
        if (_state != FramerState.Head && _held is null)
        {
            output?.Write(line); // chunk sizes, chunk ends and trailers pass as they are
        }
        switch (_state)
        {
            case FramerState.Head:
                if (!(text.EndsWith("\n\n", StringComparison.Ordinal) || text.EndsWith("\n\r\n", StringComparison.Ordinal)))
                {
                    if (text is "\r\n" or "\n")
                    {
                        output?.Write(line);
                        _line.Clear(); // empty lines between requests are allowed (RFC 9112 2.2)
                    }
                    return null;
                }
                _line.Clear();
                var verdict = Head(text);
                if (output is not null && verdict?.Refused is null && !(verdict is null && StartHold(text)))
                {
                    output.Write(Encoding.Latin1.GetBytes(rewriter is null ? text : rewriter.RewriteHead(text)));
                }
                return verdict;
            case FramerState.ChunkSize:
                _line.Clear();
                var size = text.Split(';')[0].Trim();
                if (size.Length is 0 or > 15 || !long.TryParse(size, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _remaining))
                {
                    return Refuse($"a chunked request body to {host} has the chunk size '{Quoted.Clip(size)}'");
                }
                _state = _remaining == 0 ? FramerState.Trailer : FramerState.ChunkData;
                return null;
            case FramerState.ChunkEnd:
                _line.Clear();
                _state = FramerState.ChunkSize;
                return text.Trim().Length == 0 ? null : Refuse($"a chunk of a request body to {host} did not end where its size said");
            default: // Trailer: header lines, then an empty line ends the request
                if (_held is not null && !HoldTrailer(line, text))
                {
                    return Refuse($"the trailers of a chunked request body to {host} are longer than this check reads");
                }
                _line.Clear();
                _state = text.Trim().Length == 0 ? FramerState.Head : FramerState.Trailer;
                if (_state == FramerState.Head)
                {
                    Release(output);
                }
                return null;
        }
    }

    private Verdict? Head(string head)
    {
        var lines = head.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var request = lines[0].Split(' ');
        if (request.Length != 3 || !request[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return Refuse($"a request to {host} is not an HTTP/1.x request line ('{Quoted.Clip(lines[0])}')");
        }
        if (request[1].StartsWith("http://", StringComparison.OrdinalIgnoreCase) || request[1].StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            var authority = request[1][(request[1].IndexOf("//", StringComparison.Ordinal) + 2)..].Split('/', '?', '#')[0];
            if (!Allowed(authority))
            {
                return Refuse($"a request's target names '{Quoted.Clip(authority)}', not {host}, the name this connection was allowed for (domain fronting)");
            }
        }
        var fields = lines.Skip(1).Where(l => l.Length > 0).ToArray();
        if (fields.Any(l => l[0] is ' ' or '\t' || !l.Contains(':')))
        {
            // A folded line (obsolete) or a line that is no field: a lenient server could read a Host from it.
            return Refuse($"a request to {host} has a header line this check cannot read");
        }
        // Names compared as a lenient server would read them: "Host :" is still Host.
        string[] Values(string name) => [.. fields
            .Where(l => l[..l.IndexOf(':')].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(l => l[(l.IndexOf(':') + 1)..].Trim())];
        var hosts = Values("Host");
        if (hosts.Length > 1 || (hosts.Length == 1 && !Allowed(hosts[0])))
        {
            return Refuse(hosts.Length > 1
                ? $"a request to {host} has {hosts.Length} Host headers"
                : $"a request's Host header names '{Quoted.Clip(hosts[0])}', not {host}, the name this connection was allowed for (domain fronting)");
        }
        if (request[0] == "CONNECT" || Values("Upgrade").Length > 0)
        {
            return Verdict.Finished; // what follows is another protocol
        }
        var encodings = Values("Transfer-Encoding");
        var lengths = Values("Content-Length").SelectMany(v => v.Split(',')).Select(v => v.Trim()).Distinct().ToArray();
        if (encodings.Length > 0)
        {
            var last = encodings[^1].Split(',')[^1].Trim();
            if (lengths.Length > 0 || !last.Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return Refuse($"a request to {host} has a body this check cannot frame (Transfer-Encoding '{Quoted.Clip(encodings[^1])}'{(lengths.Length > 0 ? " with a Content-Length" : "")})");
            }
            _state = FramerState.ChunkSize;
            return null;
        }
        if (lengths.Length > 1 || (lengths.Length == 1 && (!lengths[0].All(char.IsAsciiDigit) || lengths[0].Length is 0 or > 18)))
        {
            return Refuse($"a request to {host} has the Content-Length '{Quoted.Clip(string.Join(",", lengths))}'");
        }
        _remaining = lengths.Length == 1 ? long.Parse(lengths[0], CultureInfo.InvariantCulture) : 0;
        _state = _remaining > 0 ? FramerState.Body : FramerState.Head;
        return null;
    }

    /// <summary>A Host value or authority (<c>name[:port]</c>, or an address) naming the allowed name.</summary>
    private bool Allowed(string authority)
    {
        var target = TargetParser.Parse(authority, 80, out _);
        return target?.Host is { } name && ClientCheck.SameHost(host, name);
    }

    /// <summary>A refused request gets the 403 the explicit proxy answers with.</summary>
    private static Verdict Refuse(string why) => new(true, why, ProxyReplies.Forbidden(EgressCodes.Fronting, why));
}
