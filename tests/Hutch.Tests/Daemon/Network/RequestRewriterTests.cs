using System.Buffers;
using System.Text;
using Hutch.Daemon.Network.Inspect;
using Hutch.Daemon.Network.Interception;

namespace Hutch.Tests.Daemon.Network;

/// <summary>
/// What a sandbox sends to a secret's host inside intercepted TLS: bodies of secrets that say
/// "body" are held whole and sent with the value and a true Content-Length, however the bytes are
/// cut; anything that cannot be rewritten goes on byte for byte, and the requests after it still
/// pass the Host check.
/// </summary>
[Trait("Category", "Unit")]
public sealed class RequestRewriterTests
{
    private const string Host = "api.example.org";
    private const string Value = "sk-abcdefghijklmnopqrstuvwxyz0123";
    private const string Placeholder = "hutchph_0123456789abcdefghijklmnopqrstuv";

    private static SubstitutionTable Table(bool inBody = true, string value = Value) =>
        new([new Substitution("K", Placeholder, Encoding.UTF8.GetBytes(value), InBody: inBody)]);

    private static RequestRewriter Rewriter(int maxBody = RequestRewriter.MaxBody, string value = Value) => new(Host, Table(value: value), maxBody);

    /// <summary>Pushes <paramref name="sent"/> in pieces of <paramref name="piece"/> bytes; what went upstream, and the last verdict.</summary>
    private static (string Upstream, Verdict Verdict) Feed(RequestRewriter rewriter, string sent, int piece)
    {
        var output = new ArrayBufferWriter<byte>();
        var verdict = Verdict.Continue;
        foreach (var part in Encoding.Latin1.GetBytes(sent).Chunk(piece))
        {
            verdict = rewriter.Push(part, output);
            if (verdict.Refused is not null || verdict.Done)
            {
                break;
            }
        }
        return (Encoding.Latin1.GetString(output.WrittenSpan), verdict);
    }

    private static string Post(string body, string fields = "Content-Type: application/json\r\n") =>
        $"POST /v1/x HTTP/1.1\r\nHost: {Host}\r\n{fields}Content-Length: {body.Length}\r\n\r\n{body}";

    private static string Chunked(string fields, params string[] chunks) =>
        $"POST /up HTTP/1.1\r\nHost: {Host}\r\n{fields}Transfer-Encoding: chunked\r\n\r\n"
        + string.Concat(chunks.Select(c => $"{c.Length:x}\r\n{c}\r\n")) + "0\r\n\r\n";

    /// <summary>A chunked stream decoded (sizes may carry extensions); what follows its end is returned too.</summary>
    private static (string Body, string After) Dechunk(string stream)
    {
        var body = new StringBuilder();
        while (true)
        {
            var line = stream.IndexOf("\r\n", StringComparison.Ordinal);
            var size = Convert.ToInt32(stream[..line].Split(';')[0], 16);
            stream = stream[(line + 2)..];
            if (size == 0)
            {
                return (body.ToString(), stream[2..]);
            }
            body.Append(stream[..size]);
            Assert.Equal("\r\n", stream[size..(size + 2)]);
            stream = stream[(size + 2)..];
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(65536)]
    public void AContentLengthBody_GetsTheValue_AndItsNewLength(int piece)
    {
        var table = Table();
        var rewriter = new RequestRewriter(Host, table);
        var body = $"{{\"key\":\"{Placeholder}\",\"again\":\"{Placeholder}\"}}";

        var (upstream, verdict) = Feed(rewriter, Post(body), piece);

        var expected = $"{{\"key\":\"{Value}\",\"again\":\"{Value}\"}}";
        Assert.Null(verdict.Refused);
        Assert.Equal($"POST /v1/x HTTP/1.1\r\nHost: {Host}\r\nContent-Type: application/json\r\nContent-Length: {expected.Length}\r\n\r\n{expected}", upstream);
        Assert.Empty(rewriter.TakeNotes());
        Assert.Equal(2, table.Substituted); // the connection's event reports it
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(65536)]
    public void AChunkedBody_SplitInsideThePlaceholderAndItsSizeLines_IsSentWholeWithAContentLength(int piece)
    {
        var rewriter = Rewriter();
        // The placeholder is cut across three chunks; one size line carries an extension.
        var sent = $"POST /up HTTP/1.1\r\nHost: {Host}\r\nTransfer-Encoding: chunked\r\n\r\n"
            + $"5;name=x\r\nkey={Placeholder[0]}\r\n10\r\n{Placeholder[1..17]}\r\n{Placeholder.Length - 17 + 1:X}\r\n{Placeholder[17..]}!\r\n0\r\n\r\n";

        var (upstream, _) = Feed(rewriter, sent, piece);

        Assert.Equal($"POST /up HTTP/1.1\r\nHost: {Host}\r\nContent-Length: {Value.Length + 5}\r\n\r\nkey={Value}!", upstream);
    }

    [Fact]
    public void ChunkedTrailers_AreKept_AfterTheBodyAsOneChunk()
    {
        var sent = $"POST /up HTTP/1.1\r\nHost: {Host}\r\nTransfer-Encoding: chunked\r\n\r\n"
            + $"3\r\nk={Placeholder[..1]}\r\n{Placeholder.Length - 1:x}\r\n{Placeholder[1..]}\r\n0\r\nX-Checksum: 1\r\n\r\n";

        var (upstream, _) = Feed(Rewriter(), sent, 3);

        Assert.Equal($"POST /up HTTP/1.1\r\nHost: {Host}\r\nTransfer-Encoding: chunked\r\n\r\n"
            + $"{Value.Length + 2:x}\r\nk={Value}\r\n0\r\nX-Checksum: 1\r\n\r\n", upstream);
    }

    [Fact]
    public void ASecretWithoutBody_LeavesEveryBodyAsItCame_FramingIncluded()
    {
        var table = Table(inBody: false);
        var sent = Post($"{{\"key\":\"{Placeholder}\"}}") + Chunked("", "a", Placeholder);

        var (upstream, _) = Feed(new RequestRewriter(Host, table), sent, 4);

        Assert.Equal(sent, upstream);
        Assert.Equal(0, table.Substituted);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(65536)]
    public void AContentLengthOverTheLimit_GoesOnUnchanged_WithANote_AndTheNextRequestIsStillRewritten(int piece)
    {
        var rewriter = Rewriter(maxBody: 64);
        var large = Post(Placeholder + new string('x', 64));
        var next = Post(Placeholder);

        var (upstream, _) = Feed(rewriter, large + next, piece);

        Assert.Equal(large + $"POST /v1/x HTTP/1.1\r\nHost: {Host}\r\nContent-Type: application/json\r\nContent-Length: {Value.Length}\r\n\r\n{Value}", upstream);
        var note = Assert.Single(rewriter.TakeNotes());
        Assert.Equal("secret_body_too_large", note.Code);
        Assert.Contains($"of {Placeholder.Length + 64} bytes is over the 64 bytes", note.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(65536)]
    public void AChunkedBodyThatGrowsPastTheLimit_GoesOnAsItCame_AndTheNextRequestIsStillRewritten(int piece)
    {
        var rewriter = Rewriter(maxBody: 64);
        var chunks = new[] { Placeholder, new string('a', 20), new string('b', 30), new string('c', 5) };
        var next = Post(Placeholder);

        var (upstream, _) = Feed(rewriter, Chunked("Expect: 100-continue\r\n", chunks) + next, piece);

        var head = $"POST /up HTTP/1.1\r\nHost: {Host}\r\nTransfer-Encoding: chunked\r\n\r\n";
        Assert.StartsWith(head, upstream, StringComparison.Ordinal);
        var (body, after) = Dechunk(upstream[head.Length..]);
        Assert.Equal(string.Concat(chunks), body); // the placeholder, never a value, and nothing lost
        Assert.Equal($"POST /v1/x HTTP/1.1\r\nHost: {Host}\r\nContent-Type: application/json\r\nContent-Length: {Value.Length}\r\n\r\n{Value}", after);
        Assert.Equal(["secret_body_too_large"], rewriter.TakeNotes().Select(n => n.Code));
        Assert.True(rewriter.TakeContinue());
    }

    [Fact]
    public void PipelinedRequests_AreEachRewritten_AndEachHostIsStillChecked()
    {
        var rewriter = Rewriter();
        var sent = Post(Placeholder) + Chunked("", Placeholder) + $"GET / HTTP/1.1\r\nHost: fronted.test\r\n\r\n";

        var (upstream, verdict) = Feed(rewriter, sent, 11);

        Assert.Contains("'fronted.test'", verdict.Refused, StringComparison.Ordinal);
        Assert.Equal($"POST /v1/x HTTP/1.1\r\nHost: {Host}\r\nContent-Type: application/json\r\nContent-Length: {Value.Length}\r\n\r\n{Value}"
            + $"POST /up HTTP/1.1\r\nHost: {Host}\r\nContent-Length: {Value.Length}\r\n\r\n{Value}", upstream);
    }

    [Fact]
    public void ACompressedBody_GoesOnUnchanged_WithItsOwnNote()
    {
        var rewriter = Rewriter();
        var sent = Post(Placeholder, "Content-Encoding: gzip\r\n");

        var (upstream, _) = Feed(rewriter, sent, 9);

        Assert.Equal(sent, upstream);
        Assert.Equal("secret_body_encoded", Assert.Single(rewriter.TakeNotes()).Code);
    }

    [Fact]
    public void AnExpectation_IsAnsweredByTheDaemon_AndTheHeadWaitsForTheBody()
    {
        var rewriter = Rewriter();
        var head = $"POST /v1/x HTTP/1.1\r\nHost: {Host}\r\nExpect: 100-continue\r\nContent-Length: {Placeholder.Length}\r\n\r\n";

        var (beforeBody, _) = Feed(rewriter, head, 4096);
        var owed = rewriter.TakeContinue();
        var (withBody, _) = Feed(rewriter, Placeholder, 4096);

        Assert.Equal(("", true, false), (beforeBody, owed, rewriter.TakeContinue()));
        Assert.Equal($"POST /v1/x HTTP/1.1\r\nHost: {Host}\r\nContent-Length: {Value.Length}\r\n\r\n{Value}", withBody);
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded", "client_secret=a%26b%2Bc%22%5C%C3%A9&x=1")]
    [InlineData("application/json; charset=utf-8", "client_secret=a&b+c\\\"\\\\é&x=1")]
    [InlineData("text/plain", "client_secret=a&b+c\"\\é&x=1")]
    public void AValue_IsWrittenAsTheBodysTypeNeedsIt(string type, string expected)
    {
        var rewriter = Rewriter(value: "a&b+c\"\\é");

        var (upstream, _) = Feed(rewriter, Post($"client_secret={Placeholder}&x=1", $"Content-Type: {type}\r\n"), 65536);

        Assert.EndsWith($"\r\n\r\n{Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(expected))}", upstream, StringComparison.Ordinal);
    }
}
