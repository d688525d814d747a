using System.Text;

namespace Hutch.Daemon.Network;

/// <summary>
/// A request made to the egress proxy itself (a program that honours <c>HTTP_PROXY</c>):
/// <c>CONNECT host:port</c> for a tunnel, or an absolute-form <c>GET http://host[:port]/path</c>,
/// which is forwarded as an origin-form request with the proxy's own headers removed and
/// <c>Connection: close</c> (one request per proxied connection: a client that reuses a proxy
/// connection for another host gets a new one, so one upstream never sees another host's request).
/// </summary>
/// <param name="Head">For a forwarded request: its rewritten head, sent upstream before the relay; empty for CONNECT.</param>
public sealed record ProxyRequest(bool IsConnect, EgressTarget Target, byte[] Head)
{
    /// <summary>The longest request head the proxy reads.</summary>
    public const int MaxHead = 16 * 1024;

    private static readonly string[] HopHeaders = ["proxy-connection", "proxy-authorization", "connection", "keep-alive"];

    /// <summary>The request in <paramref name="head"/> (up to and including its empty line), or null with a message for egress_bad_target.</summary>
    public static ProxyRequest? Parse(ReadOnlySpan<byte> head, out string? error)
    {
        var lines = Encoding.Latin1.GetString(head).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        var parts = lines.Count == 0 ? [] : lines[0].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[0].Length == 0 || !parts[0].All(char.IsAsciiLetterUpper))
        {
            return Fail("the request to the egress proxy is not an HTTP/1.x request line", out error);
        }
        var (method, target) = (parts[0], parts[1]);
        if (method == "CONNECT")
        {
            var tunnel = TargetParser.Parse(target, null, out var connectError);
            return tunnel is null ? Fail($"CONNECT {connectError}", out error) : Ok(new ProxyRequest(true, tunnel, []), out error);
        }
        if (target.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return Fail("the egress proxy forwards https:// only through CONNECT (a client that honours HTTPS_PROXY does that)", out error);
        }
        if (!target.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return Fail($"'{method} {Quoted.Clip(target)}' asks the egress proxy itself; send CONNECT host:port or an absolute-form http:// request", out error);
        }
        var rest = target[7..];
        var cut = rest.IndexOfAny(['/', '?', '#']);
        var authority = cut < 0 ? rest : rest[..cut];
        var path = cut < 0 ? "/" : rest[cut] == '/' ? rest[cut..] : "/" + rest[cut..];
        if (authority.Contains('@'))
        {
            return Fail("the request's target holds user information ('user@'); send credentials in a header", out error);
        }
        var destination = TargetParser.Parse(authority, 80, out var hostError);
        if (destination is null)
        {
            return Fail($"the request's target {hostError}", out error);
        }
        var forwarded = new StringBuilder($"{method} {path} {parts[2]}\r\n");
        var hasHost = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            var name = colon < 0 ? line : line[..colon].Trim();
            if (HopHeaders.Contains(name.ToLowerInvariant()))
            {
                continue;
            }
            hasHost |= name.Equals("Host", StringComparison.OrdinalIgnoreCase);
            forwarded.Append(line).Append("\r\n");
        }
        if (!hasHost)
        {
            forwarded.Append("Host: ").Append(authority).Append("\r\n");
        }
        forwarded.Append("Connection: close\r\n\r\n");
        return Ok(new ProxyRequest(false, destination, Encoding.Latin1.GetBytes(forwarded.ToString())), out error);
    }

    /// <summary>Where the head ends in <paramref name="bytes"/> (the index after its empty line), or -1.</summary>
    public static int HeadEnd(ReadOnlySpan<byte> bytes)
    {
        var crlf = bytes.IndexOf("\r\n\r\n"u8);
        var lf = bytes.IndexOf("\n\n"u8);
        var end = Math.Min(crlf < 0 ? int.MaxValue : crlf + 4, lf < 0 ? int.MaxValue : lf + 2);
        return end == int.MaxValue ? -1 : end;
    }

    private static ProxyRequest? Ok(ProxyRequest request, out string? error)
    {
        error = null;
        return request;
    }

    private static ProxyRequest? Fail(string message, out string? error)
    {
        error = message;
        return null;
    }
}
