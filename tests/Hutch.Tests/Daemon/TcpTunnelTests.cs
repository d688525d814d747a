using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// GET /v1/sandboxes/{id}/tcp/{port}: a raw TCP connection into a sandbox, carried over a WebSocket,
/// through the SDK's <see cref="HutchClient.ConnectPortAsync"/>.
/// </summary>
[Collection(DaemonCollection.Name)]
public class TcpTunnelTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task RawBytes_GoBothWays_AndAHalfCloseStillGetsTheServersLastWords()
    {
        await using var sandbox = await fixture.CreateAsync();
        await SandboxServers.StartEchoAsync(sandbox, Client, 9000);
        var sent = RandomNumberGenerator.GetBytes(8 << 20);

        await using var tunnel = await Client.ConnectPortAsync(sandbox.Id, 9000);
        var reading = ReadToEndAsync(tunnel);
        await tunnel.WriteAsync(sent);
        await tunnel.WebSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        var received = await reading.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(sent.Length + 4, received.Length);
        Assert.True(sent.AsSpan().SequenceEqual(received.AsSpan(0, sent.Length)), "the echoed bytes differ from the sent ones");
        Assert.Equal("bye\n", Encoding.ASCII.GetString(received, sent.Length, 4));
        Assert.Equal(WebSocketState.Closed, tunnel.WebSocket.State);
    }

    [Fact]
    public async Task APortNothingListensOn_IsRefusedBeforeTheUpgrade_As502PortUnreachable()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = Http();

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ConnectPortAsync(sandbox.Id, 9001));
        var plain = await http.SendAsync(UpgradeRequest($"/v1/sandboxes/{sandbox.Id}/tcp/9001"));

        Assert.Equal((ErrorCodes.PortUnreachable, 502), (e.Code, e.Status));
        Assert.Contains("127.0.0.1:9001", e.Detail);
        Assert.Equal(HttpStatusCode.BadGateway, plain.StatusCode);
        var problem = await ProblemAsync(plain);
        Assert.Equal(ErrorCodes.PortUnreachable, problem.Code);
        Assert.Contains("Start the server inside the sandbox", problem.Detail);
    }

    [Fact]
    public async Task AnUnknownSandbox_Is404SandboxNotFound()
    {
        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ConnectPortAsync("sb-nosuchthing", 9000));

        Assert.Equal((ErrorCodes.SandboxNotFound, 404), (e.Code, e.Status));
    }

    [Fact]
    public async Task WithoutTheApiKey_TheUpgradeIsRefused401_AndNoConnectionReachesTheSandbox()
    {
        await using var sandbox = await fixture.CreateAsync();
        await SandboxServers.StartEchoAsync(sandbox, Client, 9002);
        using var anonymous = new ClientWebSocket();
        anonymous.Options.CollectHttpResponseDetails = true;
        using var wrongKey = new HutchClient(new Uri(fixture.Daemon.Url), "hk_not-the-key");
        var url = new Uri(fixture.Daemon.Url.Replace("http://", "ws://") + $"/v1/sandboxes/{sandbox.Id}/tcp/9002");

        await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(url, CancellationToken.None));
        var refused = await Assert.ThrowsAsync<HutchApiException>(() => wrongKey.ConnectPortAsync(sandbox.Id, 9002));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.HttpStatusCode);
        Assert.Equal((ErrorCodes.Unauthorized, 401), (refused.Code, refused.Status));
        // The echo server counts no connection: ss would need iproute2 inside, /proc/net/tcp is enough.
        var established = await sandbox.ShAsync("grep -c ' 01 ' /proc/net/tcp || true");
        Assert.Equal("0\n", established.Stdout);
    }

    [Fact]
    public async Task APlainGet_IsTold400ToOpenAWebSocket()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = Http();

        var response = await http.GetAsync($"/v1/sandboxes/{sandbox.Id}/tcp/9003");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("WebSocket", (await ProblemAsync(response)).Detail);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public async Task APortOutOfRange_IsRefusedByTheSdk(int port)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Client.ConnectPortAsync("any", port));
    }

    [Fact]
    public async Task WhileATunnelIsOpen_TheSandboxStillReachesNothingOutside()
    {
        await using var sandbox = await fixture.CreateAsync();
        await SandboxServers.StartEchoAsync(sandbox, Client, 9004);
        await using var tunnel = await Client.ConnectPortAsync(sandbox.Id, 9004);
        await tunnel.WriteAsync("ping"u8.ToArray());
        var buffer = new byte[4];
        await tunnel.ReadExactlyAsync(buffer);
        var daemonPort = new Uri(fixture.Daemon.Url).Port;

        var result = await sandbox.ShAsync(
            $"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {daemonPort}), 2); print('REACHED')\" 2>/dev/null; " +
            "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; tail -n +2 /proc/net/route | wc -l");

        Assert.Equal("ping", Encoding.ASCII.GetString(buffer));
        Assert.Equal("lo\n0\n", result.Stdout);
    }

    [Fact]
    public async Task TheServerResettingTheConnection_BreaksTheTunnel_RatherThanEndingItCleanly()
    {
        await using var sandbox = await fixture.CreateAsync();
        // Accepts, then closes with SO_LINGER 0: a reset, as a crashing server would leave it.
        await Client.WriteTextAsync(sandbox.Id, "reset.py", """
            import socket, struct, sys
            s = socket.socket(); s.bind(('127.0.0.1', 9005)); s.listen(1); print('listening', flush=True)
            c, _ = s.accept(); c.recv(1)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()
            """);
        await sandbox.ShAsync("python3 reset.py > reset.log 2>&1 &");
        await sandbox.ShAsync("until grep -q listening reset.log; do sleep 0.1; done", timeoutMs: 10_000);

        await using var tunnel = await Client.ConnectPortAsync(sandbox.Id, 9005);
        await tunnel.WriteAsync("x"u8.ToArray());

        await Assert.ThrowsAnyAsync<WebSocketException>(() => ReadToEndAsync(tunnel).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var all = new MemoryStream();
        await stream.CopyToAsync(all);
        return all.ToArray();
    }

    private HttpClient Http()
    {
        var http = new HttpClient { BaseAddress = new Uri(fixture.Daemon.Url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        return http;
    }

    /// <summary>A WebSocket upgrade request by hand, to read the daemon's refusal body (a WebSocket client never shows it).</summary>
    private static HttpRequestMessage UpgradeRequest(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
        return request;
    }

    private static async Task<Problem> ProblemAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ApiJsonContext.Default.Problem)!;
}
