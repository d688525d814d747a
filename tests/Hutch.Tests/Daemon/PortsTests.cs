using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// /v1/sandboxes/{id}/ports/{port}/…: servers listening on a sandbox's own loopback, reached through
/// the daemon, while the sandbox itself still reaches nothing outside.
/// </summary>
[Collection(DaemonCollection.Name)]
public class PortsTests(DaemonFixture fixture)
{
    private const string HeaderEcho = """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = ''.join(f'{k}: {v}\n' for k, v in self.headers.items()).encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """;

    // Answers a POST with the body's length and sha256, read in 1 MiB pieces.
    private const string BodyHasher = """
        import hashlib, http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                left, h = int(self.headers['Content-Length']), hashlib.sha256()
                while left:
                    chunk = self.rfile.read(min(left, 1 << 20)); h.update(chunk); left -= len(chunk)
                body = f"{h.hexdigest()}".encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            do_GET = lambda self: (self.send_response(204), self.end_headers())
            def log_message(self, *args):
                pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """;

    // A WebSocket echo in the standard library only: the RFC 6455 handshake, then each client frame
    // (masked, payload < 126 bytes) sent back unmasked.
    private const string WebSocketEcho = """
        import base64, hashlib, socket, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(4)
        print('listening', flush=True)
        while True:
            c, _ = s.accept(); f = c.makefile('rb')
            headers = {}
            line = f.readline()
            while line not in (b'\r\n', b''):
                line = f.readline()
                if b':' in line:
                    k, v = line.decode().split(':', 1); headers[k.strip().lower()] = v.strip()
            accept = base64.b64encode(hashlib.sha1((headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest()).decode()
            c.sendall(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n').encode())
            while True:
                h = f.read(2)
                if len(h) < 2: break
                op, n = h[0] & 0x0f, h[1] & 0x7f
                mask = f.read(4); data = bytes(b ^ mask[i % 4] for i, b in enumerate(f.read(n)))
                if op == 8:
                    c.sendall(bytes([0x88, 0])); break
                c.sendall(bytes([0x80 | op, len(data)]) + data)
            c.close()
        """;

    private HutchClient Client => fixture.Client;

    private HttpClient Http(bool withKey = true)
    {
        var http = new HttpClient { BaseAddress = new Uri(fixture.Daemon.Url), Timeout = TimeSpan.FromSeconds(30) };
        if (withKey)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        }
        return http;
    }

    [Fact]
    public async Task HttpServerOnSandboxLoopback_IsReachedThroughTheDaemon_WithPathAndQuery()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "site/hello.txt", "hello from inside\n");
        await StartAsync(sandbox, "cd site && python3 -m http.server 8000 --bind 127.0.0.1", 8000, "hello.txt");
        using var http = Http();

        var response = await http.GetAsync($"/v1/sandboxes/{sandbox.Id}/ports/8000/hello.txt?x=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello from inside\n", await response.Content.ReadAsStringAsync());
        var listing = await http.GetStringAsync($"/v1/sandboxes/{sandbox.Id}/ports/8000/");
        Assert.Contains("hello.txt", listing);
    }

    [Fact]
    public async Task TheSdksPortRequest_ReachesTheServer_AndA502ComesBackAsTheDaemonsProblem()
    {
        await using var sandbox = await fixture.CreateAsync();
        await SandboxServers.StartHttpAsync(sandbox, Client, 8006, "index.html", "<h1>from the sdk</h1>");

        using var ok = await Client.SendToPortAsync(Client.CreatePortRequest(HttpMethod.Get, sandbox.Id, 8006, "/index.html"));
        using var unreachable = await Client.SendToPortAsync(Client.CreatePortRequest(HttpMethod.Get, sandbox.Id, 8007));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("<h1>from the sdk</h1>", await ok.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadGateway, unreachable.StatusCode);
        Assert.Equal(ErrorCodes.PortUnreachable, (await ProblemAsync(unreachable)).Code);
    }

    [Fact]
    public async Task TheApiKey_IsRequired_AndNeverReachesTheSandbox()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "echo.py", HeaderEcho);
        await StartAsync(sandbox, "python3 echo.py 8001", 8001, "");
        using var anonymous = Http(withKey: false);
        using var http = Http();

        var refused = await anonymous.GetAsync($"/v1/sandboxes/{sandbox.Id}/ports/8001/");
        var seen = await http.GetStringAsync($"/v1/sandboxes/{sandbox.Id}/ports/8001/");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain(fixture.ApiKey, seen);
        Assert.DoesNotContain("Authorization", seen, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Host: localhost:8001", seen);
    }

    [Fact]
    public async Task ARequestBodyBeyondKestrelsDefault30MB_IsForwardedWhole()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "hasher.py", BodyHasher);
        await StartAsync(sandbox, "python3 hasher.py 8005", 8005, "");
        var body = System.Security.Cryptography.RandomNumberGenerator.GetBytes(40 << 20);
        using var http = Http();

        var response = await http.PostAsync($"/v1/sandboxes/{sandbox.Id}/ports/8005/upload", new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task APortNothingListensOn_Is502PortUnreachable()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = Http();

        var response = await http.GetAsync($"/v1/sandboxes/{sandbox.Id}/ports/8002/");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Equal(ErrorCodes.PortUnreachable, problem.Code);
        Assert.Contains("127.0.0.1:8002", problem.Detail);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("-1")]
    [InlineData("http")]
    public async Task AnInvalidPort_Is400InvalidPort(string port)
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = Http();

        var response = await http.GetAsync($"/v1/sandboxes/{sandbox.Id}/ports/{port}/");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ErrorCodes.InvalidPort, (await ProblemAsync(response)).Code);
    }

    [Fact]
    public async Task AnUnknownSandbox_Is404()
    {
        using var http = Http();

        var response = await http.GetAsync("/v1/sandboxes/sb-nosuchthing/ports/8000/");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(ErrorCodes.SandboxNotFound, (await ProblemAsync(response)).Code);
    }

    [Fact]
    public async Task AfterForwarding_TheSandboxStillReachesNothingOutside()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "echo.py", HeaderEcho);
        await StartAsync(sandbox, "python3 echo.py 8003", 8003, "");
        var daemonPort = new Uri(fixture.Daemon.Url).Port;

        var result = await sandbox.ShAsync(
            $"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {daemonPort}), 2); print('REACHED')\" 2>/dev/null; " +
            "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; tail -n +2 /proc/net/route | wc -l");

        Assert.Equal("lo\n0\n", result.Stdout);
    }

    [Fact]
    public async Task WebSocketServerInTheSandbox_EchoesThroughTheDaemon()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "ws.py", WebSocketEcho);
        await sandbox.ShAsync("python3 ws.py 8004 > ws.log 2>&1 &");
        await sandbox.ShAsync("until grep -q listening ws.log; do sleep 0.1; done", timeoutMs: 10_000);
        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Authorization", $"Bearer {fixture.ApiKey}");
        var uri = new Uri(new Uri(fixture.Daemon.Url.Replace("http://", "ws://")), $"/v1/sandboxes/{sandbox.Id}/ports/8004/socket");

        await ws.ConnectAsync(uri, CancellationToken.None);
        await ws.SendAsync("ping through the namespace"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[256];
        var received = await ws.ReceiveAsync(buffer, CancellationToken.None);

        Assert.Equal("ping through the namespace", Encoding.UTF8.GetString(buffer, 0, received.Count));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
    }

    /// <summary>Starts a server in the background and waits until the daemon can reach it.</summary>
    private async Task StartAsync(TestSandbox sandbox, string command, int port, string path)
    {
        await sandbox.ShAsync($"({command}) > server.log 2>&1 &");
        using var http = Http();
        for (var i = 0; i < 100; i++)
        {
            if ((await http.GetAsync($"/v1/sandboxes/{sandbox.Id}/ports/{port}/{path}")).StatusCode != HttpStatusCode.BadGateway)
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"the server on port {port} did not start: {(await sandbox.ShAsync("cat server.log")).Stdout}");
    }

    private static async Task<Problem> ProblemAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ApiJsonContext.Default.Problem)!;
}
