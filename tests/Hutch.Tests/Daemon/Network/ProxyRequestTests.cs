using System.Net;
using System.Text;
using Hutch.Daemon.Network;

namespace Hutch.Tests.Daemon.Network;

/// <summary>Requests to the egress proxy itself: CONNECT, absolute-form forwarded as origin-form, and what is refused.</summary>
[Trait("Category", "Unit")]
public sealed class ProxyRequestTests
{
    private static ProxyRequest? Parse(string head, out string? error) =>
        ProxyRequest.Parse(Encoding.ASCII.GetBytes(head.ReplaceLineEndings("\r\n")), out error);

    [Fact]
    public void Connect_TakesItsTarget()
    {
        var request = Parse("CONNECT Upstream.test:8443 HTTP/1.1\nHost: upstream.test:8443\n\n", out var error);

        Assert.Null(error);
        Assert.Equal(new EgressTarget("upstream.test", null, 8443), request!.Target);
        Assert.True(request.IsConnect);
        Assert.Empty(request.Head);
    }

    [Fact]
    public void AbsoluteForm_IsForwardedAsOriginForm_WithoutProxyHeaders_AndWithConnectionClose()
    {
        var request = Parse("GET http://upstream.test:8080/a/b?c=d HTTP/1.1\nHost: upstream.test:8080\nProxy-Connection: keep-alive\nProxy-Authorization: Basic eA==\nConnection: keep-alive\nAccept: */*\n\n", out var error);

        Assert.Null(error);
        Assert.Equal(new EgressTarget("upstream.test", null, 8080), request!.Target);
        Assert.Equal("GET /a/b?c=d HTTP/1.1\r\nHost: upstream.test:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n", Encoding.ASCII.GetString(request.Head));
    }

    [Fact]
    public void AbsoluteForm_WithoutHostOrPath_GetsThem()
    {
        var request = Parse("GET http://192.0.2.7?x HTTP/1.0\n\n", out _);

        Assert.Equal(new EgressTarget(null, IPAddress.Parse("192.0.2.7"), 80), request!.Target);
        Assert.Equal("GET /?x HTTP/1.0\r\nHost: 192.0.2.7\r\nConnection: close\r\n\r\n", Encoding.ASCII.GetString(request.Head));
    }

    [Theory]
    [InlineData("CONNECT 2130706433:80 HTTP/1.1\n\n", "127.0.0.1")]
    [InlineData("CONNECT upstream.test HTTP/1.1\n\n", "names no port")]
    [InlineData("GET http://0x7f.1/ HTTP/1.1\n\n", "127.0.0.1")]
    [InlineData("GET http://user@upstream.test/ HTTP/1.1\n\n", "user information")]
    [InlineData("GET https://upstream.test/ HTTP/1.1\n\n", "only through CONNECT")]
    [InlineData("GET / HTTP/1.1\nHost: upstream.test\n\n", "asks the egress proxy itself")]
    [InlineData("\u0016\u0003\u0001\u0000\n\n", "not an HTTP/1.x request line")]
    [InlineData("GET http://upstream.test/ HTTP/2\n\n", "not an HTTP/1.x request line")]
    public void BadRequests_SayWhy(string head, string why)
    {
        Assert.Null(Parse(head, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\nbody", 18)]
    [InlineData("GET / HTTP/1.1\n\nbody", 16)]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n", -1)]
    public void TheHeadEnds_AtItsEmptyLine(string bytes, int end) =>
        Assert.Equal(end, ProxyRequest.HeadEnd(Encoding.ASCII.GetBytes(bytes)));

    [Fact]
    public void Replies_CarryTheCode_AndAProxyStatus()
    {
        var reply = Encoding.UTF8.GetString(ProxyReplies.Forbidden(EgressCodes.PrivateAddress, "169.254.169.254:80 refused: \"metadata\"\n"));

        Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", reply, StringComparison.Ordinal);
        Assert.Contains("X-Hutch-Error: egress_private_address\r\n", reply, StringComparison.Ordinal);
        Assert.Contains("Proxy-Status: hutch; error=destination_ip_prohibited; details=\"169.254.169.254:80 refused: \\\"metadata\\\"?\"\r\n", reply, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\negress_private_address: 169.254.169.254:80 refused: \"metadata\"\n\n", reply, StringComparison.Ordinal);
        Assert.Contains("504 Gateway Timeout", Encoding.UTF8.GetString(ProxyReplies.Failed(EgressCodes.ConnectTimeout, "x")), StringComparison.Ordinal);
    }
}
