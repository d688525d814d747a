using System.Text;
using Hutch.Daemon.Network;
using Hutch.Daemon.Network.Inspect;

namespace Hutch.Tests.Daemon.Network.Inspect;

/// <summary>
/// What a sandbox sends to an allowed name: TLS must name it in SNI, every plain HTTP request in its
/// Host or target, however the bytes are cut; other protocols pass unseen.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ClientCheckTests
{
    private const string Allowed = "upstream.test";

    /// <summary>Shows <paramref name="bytes"/> to a new check in pieces of <paramref name="piece"/> bytes; the first refusal, or null.</summary>
    private static Verdict Feed(byte[] bytes, int piece, out int forwarded)
    {
        var check = new ClientCheck(Allowed);
        forwarded = 0;
        foreach (var part in bytes.Chunk(piece))
        {
            var verdict = check.Observe(part);
            if (verdict.Refused is not null)
            {
                return verdict;
            }
            forwarded += part.Length;
            if (verdict.Done)
            {
                return verdict;
            }
        }
        return Verdict.Continue;
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text.ReplaceLineEndings("\r\n"));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public async Task Tls_ForTheAllowedName_Passes_AndForAnother_IsAnAlert(int piece)
    {
        var good = Feed(await TlsClientHelloTests.HelloAsync("Upstream.TEST"), piece, out _);
        var bad = Feed(await TlsClientHelloTests.HelloAsync("fronted.test"), piece, out var forwarded);

        Assert.True(good.Done);
        Assert.Null(good.Refused);
        Assert.Contains("'fronted.test'", bad.Refused, StringComparison.Ordinal);
        Assert.Equal([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31], bad.Reply);
        // Only pieces before the one completing the hello went on: never the whole hello.
        Assert.True(forwarded < (await TlsClientHelloTests.HelloAsync("fronted.test")).Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(65536)]
    public void Http_EveryRequestOnTheConnection_IsChecked(int piece)
    {
        var requests = Ascii("""
            POST /a HTTP/1.1
            Host: upstream.test:8080
            Content-Length: 27

            Host: fronted.test

            ....
            GET http://upstream.test/b HTTP/1.1
            Host: upstream.test
            Transfer-Encoding: chunked

            5;ext=1
            Host:
            0
            Trailer: x


            GET /c HTTP/1.1
            Host: fronted.test


            """);

        var verdict = Feed(requests, piece, out var forwarded);

        Assert.Contains("Host header names 'fronted.test'", verdict.Refused, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", Encoding.UTF8.GetString(verdict.Reply!), StringComparison.Ordinal);
        Assert.Contains("X-Hutch-Error: egress_fronting\r\n", Encoding.UTF8.GetString(verdict.Reply!), StringComparison.Ordinal);
        var third = Encoding.ASCII.GetString(requests).IndexOf("GET /c", StringComparison.Ordinal);
        Assert.True(forwarded < third + "GET /c HTTP/1.1\r\nHost: fronted.test\r\n\r\n".Length, $"forwarded {forwarded}");
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\nHost: upstream.test\n\n", null)]
    [InlineData("GET / HTTP/1.0\n\n", null)]
    [InlineData("GET http://fronted.test/ HTTP/1.1\nHost: upstream.test\n\n", "target names 'fronted.test'")]
    [InlineData("GET / HTTP/1.1\nHost: 10.0.0.1\n\n", "Host header names '10.0.0.1'")]
    [InlineData("GET / HTTP/1.1\nHOST : fronted.test\n\n", "Host header names 'fronted.test'")]
    [InlineData("GET / HTTP/1.1\nHost: upstream.test\nX-A: 1\n fronted.test\n\n", "header line this check cannot read")]
    [InlineData("GET / HTTP/1.1\nHost: upstream.test\nno colon here\n\n", "header line this check cannot read")]
    [InlineData("GET / HTTP/1.1\nHost: upstream.test\nHost: upstream.test\n\n", "2 Host headers")]
    [InlineData("POST / HTTP/1.1\nHost: upstream.test\nContent-Length: 3\nTransfer-Encoding: chunked\n\n", "cannot frame")]
    [InlineData("POST / HTTP/1.1\nHost: upstream.test\nTransfer-Encoding: gzip\n\n", "cannot frame")]
    [InlineData("POST / HTTP/1.1\nHost: upstream.test\nContent-Length: 3, 4\n\n", "Content-Length '3,4'")]
    [InlineData("POST / HTTP/1.1\nHost: upstream.test\nContent-Length: -1\n\n", "Content-Length '-1'")]
    [InlineData("POST / HTTP/1.1\nHost: upstream.test\nTransfer-Encoding: chunked\n\nzz\n", "chunk size 'zz'")]
    [InlineData("GET / HTTP/2.0\nHost: fronted.test\n\n", null)] // not HTTP/1: no server reads a Host from it
    public void Http_HeadsAreReadStrictly(string request, string? refusal)
    {
        var verdict = Feed(Ascii(request), 65536, out _);

        if (refusal is null)
        {
            Assert.Null(verdict.Refused);
        }
        else
        {
            Assert.Contains(refusal, verdict.Refused, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AfterAnUpgrade_OrForAnotherProtocol_NothingIsChecked()
    {
        var upgrade = Feed(Ascii("GET /ws HTTP/1.1\nHost: upstream.test\nUpgrade: websocket\nConnection: Upgrade\n\nGET / HTTP/1.1\nHost: fronted.test\n\n"), 65536, out _);
        var ssh = Feed(Ascii("SSH-2.0-OpenSSH_9.2\n"), 65536, out _);

        Assert.True(upgrade.Done);
        Assert.Null(upgrade.Refused);
        Assert.True(ssh.Done);
        Assert.Null(ssh.Refused);
    }

    [Theory]
    [InlineData("SET key value\r\nGET key\r\n")]    // Redis inline commands
    [InlineData("EHLO client.example\r\n")]          // SMTP, were the client to speak first
    [InlineData("AUTH PLAIN x\r\nQUIT\r\n")]
    public void TextProtocolsThatAreNotHttp_PassUnseen(string text)
    {
        var verdict = Feed(Ascii(text), 65536, out var forwarded);

        Assert.Null(verdict.Refused);
        Assert.True(verdict.Done);
        Assert.Equal(Ascii(text).Length, forwarded);
    }

    [Fact]
    public void ARequestLineCutAcrossChunks_IsStillChecked()
    {
        var request = Ascii("GET / HTTP/1.1\nHost: fronted.test\n\n");

        Assert.NotNull(Feed(request, 2, out _).Refused);
        Assert.NotNull(Feed(request, 9, out _).Refused);
    }

    [Fact]
    public void ARequestLineLongerThanTheCap_IsRefused_NotPassedUnseen()
    {
        var request = Ascii("GET /" + new string('a', 70 * 1024) + " HTTP/1.1\nHost: fronted.test\n\n");

        Assert.Contains("longer than this check reads", Feed(request, 4096, out _).Refused, StringComparison.Ordinal);
    }

    [Fact]
    public void AHeadThatNeverEnds_IsRefusedAtTheCap()
    {
        var endless = Ascii("GET / HTTP/1.1\nX: " + new string('a', 70 * 1024));

        Assert.Contains("longer than this check reads", Feed(endless, 1000, out _).Refused, StringComparison.Ordinal);
    }
}
