using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Hutch.Cli.Exec;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Cli;

/// <summary>
/// `hutch exec`'s own HTTP/1.1 exchange (<see cref="DirectExec"/>) against a scripted server: the
/// request the SDK would send, any framing of the answer, and the SDK's errors.
/// </summary>
[Trait("Category", "Unit")]
public class DirectExecTests
{
    private static readonly ExecRequest Request = new(Argv: ["sh", "-c", "echo hé"], Env: new() { ["A"] = "<&>" }, KillOnDisconnect: true);

    private static readonly ExecEvent[] Script =
    [
        new ExecStartEvent(7),
        new ExecStdoutEvent("hello\n"u8.ToArray()),
        new ExecStderrEvent(new byte[] { 0, 0xff, (byte)'\n' }),
        new ExecExitEvent(3, null, false, false, false, 12),
    ];

    [Fact]
    public async Task TheRequest_IsThePostTheSdkSends_AndAChunkedStream_SplitAnywhere_GivesItsEvents()
    {
        var body = Ndjson(Script);
        // Chunks that cut lines (and a chunk extension, and a blank line between events) anywhere.
        var framed = Chunked(body, 1, 5, 17, 3, 200);
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), framed);

        var events = await Task.Run(() => DirectExec.Events(server.Endpoint("/"), "my box", Request).ToList());

        AssertSame(Script, events);
        var request = await server.Request;
        var expectedBody = JsonSerializer.SerializeToUtf8Bytes(Request, HutchClient.Json.ExecRequest);
        Assert.StartsWith("POST /v1/sandboxes/my%20box/exec/stream HTTP/1.1\r\n", request.Head);
        Assert.Contains($"\r\nHost: 127.0.0.1:{server.Port}\r\n", request.Head);
        Assert.Contains("\r\nAuthorization: Bearer test-key\r\n", request.Head);
        Assert.Contains("\r\nAccept: application/x-ndjson\r\n", request.Head);
        Assert.Contains("\r\nContent-Type: application/json\r\n", request.Head);
        Assert.Equal(expectedBody, request.Body);
    }

    [Fact]
    public async Task APathPrefix_IsKept()
    {
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), Chunked(Ndjson(Script), 1000));

        await Task.Run(() => DirectExec.Events(server.Endpoint("/hutch/"), "sb-1", Request).ToList());

        Assert.StartsWith("POST /hutch/v1/sandboxes/sb-1/exec/stream HTTP/1.1\r\n", (await server.Request).Head);
    }

    [Fact]
    public async Task AnIpv6Loopback_IsReached()
    {
        if (!Socket.OSSupportsIPv6)
        {
            return; // No IPv6 on this host: nothing to reach.
        }
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), Chunked(Ndjson(Script), 64), IPAddress.IPv6Loopback);

        var endpoint = new HutchEndpoint(new Uri($"http://[::1]:{server.Port}/"), "test-key", "/tmp", true);
        AssertSame(Script, await Task.Run(() => DirectExec.Events(endpoint, "x", Request).ToList()));
        Assert.Contains($"\r\nHost: [::1]:{server.Port}\r\n", (await server.Request).Head);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABodyWithAContentLength_OrUpToTheClose_GivesItsEvents(bool withLength)
    {
        var body = Ndjson(Script);
        var head = withLength ? Head(200, "OK", $"Content-Length: {body.Length}") : Head(200, "OK", "Connection: close");
        await using var server = new ScriptedServer(head, body);

        AssertSame(Script, await Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));
    }

    [Fact]
    public async Task ABigEvent_AcrossManyChunks_ComesWhole()
    {
        var big = Enumerable.Range(0, 3 << 20).Select(i => (byte)(i * 31)).ToArray();
        ExecEvent[] script = [new ExecStartEvent(1), new ExecStdoutEvent(big), new ExecExitEvent(0, null, false, false, false, 1)];
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), Chunked(Ndjson(script), 4096, 65536, 7));

        AssertSame(script, await Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));
    }

    [Fact]
    public async Task AnInformationalAnswer_IsSkipped()
    {
        await using var server = new ScriptedServer("HTTP/1.1 100 Continue\r\n\r\n" + Head(200, "OK", "Transfer-Encoding: chunked"), Chunked(Ndjson(Script), 50));

        AssertSame(Script, await Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));
    }

    [Fact]
    public async Task AProblemAnswer_IsItsCodeAndDetail_WithRetryAfter()
    {
        var problem = """{"type":"about:blank","title":"Too many","status":429,"detail":"Slow down.","code":"rate_limited","traceId":"t"}"""u8.ToArray();
        await using var server = new ScriptedServer(Head(429, "Too Many Requests", "Content-Type: application/problem+json", "Retry-After: 7", $"Content-Length: {problem.Length}"), problem);

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));

        Assert.Equal((ErrorCodes.RateLimited, 429, "Slow down.", TimeSpan.FromSeconds(7)), (e.Code, e.Status, e.Detail, e.RetryAfter));
    }

    [Fact]
    public async Task ANotFoundWithoutABody_IsDescribedFromItsStatus()
    {
        await using var server = new ScriptedServer(Head(404, "Not Found", "Content-Length: 0"), []);

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));

        Assert.Equal((ErrorCodes.SandboxNotFound, 404), (e.Code, e.Status));
    }

    [Fact]
    public async Task AnErrorEvent_IsThrownWithItsCode()
    {
        ExecEvent[] script = [new ExecErrorEvent(ErrorCodes.SandboxDied, "gone")];
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), Chunked(Ndjson(script), 9));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));

        Assert.Equal((ErrorCodes.SandboxDied, "gone"), (e.Code, e.Detail));
    }

    [Fact]
    public async Task AStreamThatEndsBeforeItsExit_IsStreamInterrupted()
    {
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), Chunked(Ndjson(Script[..2]), 9));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));

        Assert.Equal(ClientErrorCodes.StreamInterrupted, e.Code);
    }

    [Fact]
    public async Task AConnectionCutInAChunk_IsStreamInterrupted()
    {
        var framed = Chunked(Ndjson(Script), 4096);
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), framed[..(framed.Length / 2)]);

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));

        Assert.Equal(ClientErrorCodes.StreamInterrupted, e.Code);
    }

    [Fact]
    public async Task ALineThatIsNoEvent_IsInvalidResponse()
    {
        await using var server = new ScriptedServer(Head(200, "OK", "Transfer-Encoding: chunked"), Chunked("{\"type\":\"start\",\"pid\":\"1\"}\n"u8.ToArray(), 100));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));

        Assert.Equal(ClientErrorCodes.InvalidResponse, e.Code);
    }

    [Fact]
    public async Task AnAnswerThatIsNotHttp_IsAConnectionFailure()
    {
        await using var server = new ScriptedServer("SSH-2.0-OpenSSH_9.2\r\n", []);

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Task.Run(() => DirectExec.Events(server.Endpoint("/"), "x", Request).ToList()));

        Assert.Equal(ClientErrorCodes.StreamInterrupted, e.Code);
    }

    [Fact]
    public void NoDaemon_IsDaemonUnreachable_AsTheSdkSaysIt()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var e = Assert.Throws<HutchApiException>(() => DirectExec.Events(new HutchEndpoint(new Uri($"http://127.0.0.1:{port}/"), "k", "/tmp", true), "x", Request).ToList());

        Assert.Equal(ClientErrorCodes.DaemonUnreachable, e.Code);
        Assert.Equal($"No Hutch daemon answers at http://127.0.0.1:{port}/: start one with `hutch serve`.", e.Detail);
    }

    [Theory]
    [InlineData("https://127.0.0.1:1/", "k", false)]
    [InlineData("http://127.0.0.1:1/", null, false)]
    [InlineData("http://127.0.0.1:1/", "a b", false)]
    [InlineData("http://127.0.0.1:1/", "k\r\nX: y", false)]
    [InlineData("http://localhost:1/", "k", true)]
    public void OnlyPlainHttpWithAHeaderSafeKey_IsDirect(string url, string? key, bool direct) =>
        Assert.Equal(direct, DirectExec.Supports(new HutchEndpoint(new Uri(url), key, "/tmp", true)));

    [Theory]
    [InlineData(null, null)]
    [InlineData("30", 30.0)]
    [InlineData("soon", null)]
    public void RetryAfter_IsSecondsOrNothing(string? value, double? seconds) =>
        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, DirectExec.RetryAfter(value));

    private static string Head(int status, string reason, params string[] headers) =>
        $"HTTP/1.1 {status} {reason}\r\nDate: Thu, 03 Dec 2026 23:00:00 GMT\r\nServer: Kestrel\r\n{string.Concat(headers.Select(h => h + "\r\n"))}\r\n";

    private static byte[] Ndjson(IEnumerable<ExecEvent> events)
    {
        var bytes = new MemoryStream();
        foreach (var e in events)
        {
            bytes.Write(JsonSerializer.SerializeToUtf8Bytes(e, HutchClient.Json.ExecEvent));
            bytes.Write("\n\r\n"u8); // A blank line after each, which readers skip.
        }
        return bytes.ToArray();
    }

    /// <summary>The body in chunks of the given sizes (the last size repeated), hex sizes in mixed case with an extension.</summary>
    private static byte[] Chunked(byte[] body, params int[] sizes)
    {
        var framed = new MemoryStream();
        for (int at = 0, i = 0; at < body.Length; i++)
        {
            var n = Math.Min(sizes[Math.Min(i, sizes.Length - 1)], body.Length - at);
            framed.Write(Encoding.ASCII.GetBytes(i % 2 == 0 ? $"{n:x}\r\n" : $"{n:X};ext=1\r\n"));
            framed.Write(body, at, n);
            framed.Write("\r\n"u8);
            at += n;
        }
        framed.Write("0\r\n\r\n"u8);
        return framed.ToArray();
    }

    private static void AssertSame(IReadOnlyList<ExecEvent> expected, IReadOnlyList<ExecEvent> actual)
    {
        static string Json(IEnumerable<ExecEvent> events) =>
            string.Join('\n', events.Select(e => Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(e, HutchClient.Json.ExecEvent))));
        Assert.Equal(Json(expected), Json(actual));
    }

    /// <summary>Answers one connection with a head and a body, written in small pieces, then closes it.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;

        public ScriptedServer(string head, byte[] body, IPAddress? address = null)
        {
            _listener = new TcpListener(address ?? IPAddress.Loopback, 0);
            _listener.Start();
            Request = ServeAsync([.. Encoding.ASCII.GetBytes(head), .. body]);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public Task<(string Head, byte[] Body)> Request { get; }

        public HutchEndpoint Endpoint(string path) => new(new Uri($"http://127.0.0.1:{Port}{path}"), "test-key", "/tmp", true);

        private async Task<(string, byte[])> ServeAsync(byte[] answer)
        {
            using var client = await _listener.AcceptTcpClientAsync();
            client.NoDelay = true;
            var stream = client.GetStream();
            var received = new MemoryStream();
            var buffer = new byte[65536];
            int headEnd;
            while ((headEnd = received.ToArray().AsSpan().IndexOf("\r\n\r\n"u8)) < 0)
            {
                received.Write(buffer, 0, await stream.ReadAsync(buffer));
            }
            var head = Encoding.ASCII.GetString(received.ToArray(), 0, headEnd + 4);
            var length = int.Parse(head.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.Ordinal))["Content-Length:".Length..]);
            while (received.Length < headEnd + 4 + length)
            {
                received.Write(buffer, 0, await stream.ReadAsync(buffer));
            }
            for (var at = 0; at < answer.Length; at += 7919)
            {
                await stream.WriteAsync(answer.AsMemory(at, Math.Min(7919, answer.Length - at)));
                await stream.FlushAsync();
            }
            client.Client.Shutdown(SocketShutdown.Send);
            // Wait for the client to close, so it reads all before the reset a close with unread data would send.
            try
            {
                while (await stream.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (IOException)
            {
            }
            return (head, received.ToArray()[(headEnd + 4)..]);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try
            {
                await Request;
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
            }
        }
    }
}
