using System.Text;

namespace Hutch.Daemon.Network;

/// <summary>
/// What the egress proxy answers a program in HTTP (docs/design/0009, section 3, step 5): a refusal
/// is a 403 whose text says what was refused and why, with the code in <c>X-Hutch-Error</c> and an
/// RFC 9209 <c>Proxy-Status</c> for clients that read it. Every reply closes the connection.
/// </summary>
public static class ProxyReplies
{
    public static readonly byte[] Established = "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray();

    public static byte[] Forbidden(string code, string message) => Reply(403, "Forbidden", code, message);

    /// <summary>A request the proxy cannot read (egress_bad_target and malformed heads).</summary>
    public static byte[] BadRequest(string code, string message) => Reply(400, "Bad Request", code, message);

    /// <summary>Allowed, but the upstream refused, could not be reached, or did not answer in time.</summary>
    public static byte[] Failed(string code, string message) => code == EgressCodes.ConnectTimeout
        ? Reply(504, "Gateway Timeout", code, message)
        : Reply(502, "Bad Gateway", code, message);

    private static byte[] Reply(int status, string reason, string code, string message)
    {
        var body = $"{code}: {message}\n";
        var details = message.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n" +
            $"X-Hutch-Error: {code}\r\n" +
            $"Proxy-Status: hutch; error={ProxyStatusError(code)}; details=\"{Ascii(details)}\"\r\n" +
            "Connection: close\r\n\r\n" + body);
    }

    /// <summary>The RFC 9209 error type closest to each code.</summary>
    private static string ProxyStatusError(string code) => code switch
    {
        EgressCodes.PrivateAddress or EgressCodes.DeniedAddress => "destination_ip_prohibited",
        EgressCodes.BadTarget => "http_request_error",
        EgressCodes.ConnectTimeout => "connection_timeout",
        EgressCodes.ConnectFailed => "destination_unavailable",
        _ => "http_request_denied",
    };

    /// <summary>A header value holds no control or non-ASCII characters (a name in punycode is ASCII already).</summary>
    private static string Ascii(string text) => new([.. text.Select(c => c is >= ' ' and < (char)0x7f ? c : '?')]);
}
