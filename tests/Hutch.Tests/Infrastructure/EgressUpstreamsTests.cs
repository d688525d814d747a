using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Xunit.Abstractions;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// The egress tests' upstream servers, reached straight from the host (the test process) over their
/// veth: they answer, they see who called, their certificate checks out against the test CA only,
/// and nothing of them is left afterwards.
/// </summary>
public sealed class EgressUpstreamsTests(EgressUpstreams upstreams, ITestOutputHelper output) : IClassFixture<EgressUpstreams>
{
    [Fact]
    public async Task Http_FromTheHost_AnswersUpstreamOk_AndSeesTheHostSideAsPeer()
    {
        upstreams.ForgetRequests();
        using var http = HostClient();

        using var response = await http.GetAsync($"http://{upstreams.Address}:{EgressUpstreams.HttpPort}/");

        Assert.Equal("upstream-ok 8080\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(upstreams.HostSideAddress.ToString(), response.Headers.GetValues("X-Upstream-Peer").Single());
        Assert.Equal($"{upstreams.Address}:8080", response.Headers.GetValues("X-Upstream-Host").Single());
        var seen = Assert.Single(upstreams.RequestsSeen);
        Assert.Equal((UpstreamServer.Http, upstreams.HostSideAddress, new IPEndPoint(upstreams.Address, 8080)), (seen.Server, seen.Peer.Address, seen.Local));
    }

    [Fact]
    public async Task Http_Whoami_EchoesTheHostHeaderAndThePeer()
    {
        upstreams.ForgetRequests();
        using var http = HostClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{upstreams.Address}:{EgressUpstreams.HttpPort}/whoami");
        request.Headers.Host = EgressUpstreams.HostName;

        using var response = await http.SendAsync(request);

        Assert.Equal($"host=upstream.test\npeer={upstreams.HostSideAddress}\n", await response.Content.ReadAsStringAsync());
        var seen = Assert.Single(upstreams.HttpRequestsSeen);
        Assert.Equal(("GET", "/whoami", "upstream.test"), (seen.Method, seen.Target, seen.Host));
    }

    [Fact]
    public async Task Tcp_SpeaksFirst_ThenEchoes()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(upstreams.Address, EgressUpstreams.TcpPort);
        await using var stream = new NetworkStream(socket);

        Assert.Equal("hello from upstream\n", await ReadExactlyAsync(stream, EgressUpstreams.Banner.Length));
        await stream.WriteAsync("ping 1\n"u8.ToArray());
        Assert.Equal("ping 1\n", await ReadExactlyAsync(stream, 7));
        socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await stream.ReadAsync(new byte[1])); // it ends when we do
    }

    [Fact]
    public async Task Https_ForUpstreamTest_IsTrustedThroughTheTestCaAlone()
    {
        using var http = HostClient(upstreams.Address, (_, certificate, _, errors) => upstreams.TrustsTestCa(certificate, errors));

        using var response = await http.GetAsync($"https://{EgressUpstreams.HostName}:{EgressUpstreams.HttpsPort}/");

        Assert.Equal("upstream-ok 8443\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(EgressUpstreams.HostName, response.Headers.GetValues("X-Upstream-Host").Single().Split(':')[0]);
        // The file a sandbox is given holds that same CA.
        Assert.Equal(upstreams.Ca.Thumbprint, X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(upstreams.CaCertPath)).Thumbprint);
    }

    [Fact]
    public async Task Https_IsTrustedByCurlAndByStrictPython_GivenTheCaFile()
    {
        // What clients in a sandbox will do: OpenSSL's checks, and Python's strict X.509 mode (the
        // default from 3.13), which wants key identifiers and a critical basicConstraints on the CA.
        var url = $"https://{EgressUpstreams.HostName}:{EgressUpstreams.HttpsPort}/";
        var curl = await RunAsync("curl", "-sS", "--noproxy", "*", "--cacert", upstreams.CaCertPath,
            "--resolve", $"{EgressUpstreams.HostName}:{EgressUpstreams.HttpsPort}:{upstreams.Address}", url);
        Assert.True(curl.Code == 0, curl.Describe("curl"));
        Assert.Equal("upstream-ok 8443\n", curl.Stdout);

        const string Strict = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[1])
            context.verify_flags |= ssl.VERIFY_X509_STRICT
            with socket.create_connection((sys.argv[2], int(sys.argv[3]))) as raw:
                with context.wrap_socket(raw, server_hostname='upstream.test') as tls:
                    tls.sendall(b'GET / HTTP/1.1\r\nHost: upstream.test\r\n\r\n')
                    answer = b''
                    while chunk := tls.recv(4096):
                        answer += chunk
                    print(answer.decode().split('\r\n\r\n')[1], end='')
            """;
        var python = await RunAsync("python3", "-c", Strict, upstreams.CaCertPath, upstreams.Address.ToString(), EgressUpstreams.HttpsPort.ToString());
        Assert.True(python.Code == 0, python.Describe("python3"));
        Assert.Equal("upstream-ok 8443\n", python.Stdout);
    }

    [Fact]
    public async Task Https_UnderAnotherName_OrWithTheSystemRootsOnly_IsRefused()
    {
        // The same validation asked about a name the certificate does not carry: a mismatch, not accepted.
        using var checking = HostClient(upstreams.Address, (_, certificate, _, errors) => upstreams.TrustsTestCa(certificate, errors));
        await Assert.ThrowsAsync<HttpRequestException>(() => checking.GetStringAsync($"https://other.test:{EgressUpstreams.HttpsPort}/"));
        // And the system's roots do not know the test CA.
        using var system = HostClient(upstreams.Address);
        await Assert.ThrowsAsync<HttpRequestException>(() => system.GetStringAsync($"https://{EgressUpstreams.HostName}:{EgressUpstreams.HttpsPort}/"));
    }

    [Fact]
    public async Task IPv6_HttpAndTcp_Answer_FromTheHostSideV6()
    {
        upstreams.ForgetRequests();
        using var http = HostClient();
        Assert.Equal("upstream-ok 8080\n", await http.GetStringAsync($"http://[{upstreams.AddressV6}]:{EgressUpstreams.HttpPort}/"));

        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(upstreams.AddressV6, EgressUpstreams.TcpPort);
        await using var stream = new NetworkStream(socket);
        Assert.Equal("hello from upstream\n", await ReadExactlyAsync(stream, EgressUpstreams.Banner.Length));

        Assert.All(upstreams.RequestsSeen, seen => Assert.Equal(upstreams.HostSideAddressV6, seen.Peer.Address));
        Assert.Equal([UpstreamServer.Http, UpstreamServer.Tcp], upstreams.RequestsSeen.Select(seen => seen.Server));
    }

    [Fact]
    public async Task TheNamespace_RoutesOnlyToItsVeth_AndHoldsTheListeners()
    {
        var routes = await RunAsync("ip", "-n", upstreams.Namespace, "route", "get", "192.0.2.1");
        Assert.NotEqual(0, routes.Code); // "Network is unreachable": no default route
        var listening = await RunAsync("ip", "netns", "exec", upstreams.Namespace, "ss", "-Hltn");
        foreach (var endpoint in new[] { $"{upstreams.Address}:8080", $"{upstreams.Address}:7000", $"{upstreams.Address}:8443", $"[{upstreams.AddressV6}]:8080" })
        {
            Assert.Contains(endpoint, listening.Stdout);
        }
        Assert.Equal("0", (await File.ReadAllTextAsync("/proc/sys/net/ipv4/ip_forward")).Trim());
    }

    [Fact]
    public async Task TwoFixturesAtOnce_GetTheirOwnSubnets_AndDisposeLeavesNothing()
    {
        var (first, second) = (new EgressUpstreams(), new EgressUpstreams());
        await Task.WhenAll(first.InitializeAsync(), second.InitializeAsync());
        output.WriteLine($"started in {first.StartTime.TotalMilliseconds:F0} and {second.StartTime.TotalMilliseconds:F0} ms (in parallel)");
        try
        {
            Assert.NotEqual(first.Subnet, second.Subnet);
            using var http = HostClient();
            Assert.Equal("upstream-ok 8080\n", await http.GetStringAsync($"http://{second.Address}:{EgressUpstreams.HttpPort}/"));
            Assert.Contains(first.Namespace, (await RunAsync("ip", "netns", "list")).Stdout);
            Assert.Contains(first.HostInterface, (await RunAsync("ip", "link")).Stdout);
        }
        finally
        {
            var clock = Stopwatch.StartNew();
            await first.DisposeAsync();
            output.WriteLine($"disposed in {clock.ElapsedMilliseconds} ms");
            await second.DisposeAsync();
        }

        var namespaces = (await RunAsync("ip", "netns", "list")).Stdout;
        var links = (await RunAsync("ip", "link")).Stdout;
        foreach (var gone in new[] { first, second })
        {
            Assert.DoesNotContain(gone.Namespace, namespaces);
            Assert.DoesNotContain(gone.HostInterface, links);
            Assert.False(File.Exists(gone.CaCertPath));
        }
    }

    [Fact]
    public async Task AStartingFixture_RemovesTheNetworkOfOneThatDiedWithout()
    {
        // What a killed test run leaves: a namespace and veth, and a free lock file still naming them.
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        Assert.Equal(0, (await RunAsync("ip", "netns", "add", $"hutch-t-{id}")).Code);
        Assert.Equal(0, (await RunAsync("ip", "link", "add", $"ht{id}-h", "type", "veth", "peer", "name", $"ht{id}-u", "netns", $"hutch-t-{id}")).Code);
        Directory.CreateDirectory("/run/hutch-tests");
        for (var n = 0; n < 256; n++)
        {
            await using var file = TryLock($"/run/hutch-tests/egress-10.213.{n}.lock");
            if (file is { Length: 0 })
            {
                await file.WriteAsync(Encoding.ASCII.GetBytes($"hutch-t-{id}"));
                break;
            }
        }

        var fresh = new EgressUpstreams();
        await fresh.InitializeAsync();
        output.WriteLine($"started in {fresh.StartTime.TotalMilliseconds:F0} ms, removing the dead one's network on the way");
        await fresh.DisposeAsync();

        Assert.DoesNotContain($"hutch-t-{id}", (await RunAsync("ip", "netns", "list")).Stdout);
        Assert.DoesNotContain($"ht{id}-h", (await RunAsync("ip", "link")).Stdout);
    }

    [Fact]
    public void StartsFast()
    {
        output.WriteLine($"this class's fixture started in {upstreams.StartTime.TotalMilliseconds:F0} ms (subnet {upstreams.Subnet})");
        Assert.True(upstreams.StartTime < TimeSpan.FromSeconds(2), $"{upstreams.StartTime}");
    }

    /// <summary>
    /// A client that never uses a proxy from the environment, and that connects every name to
    /// <paramref name="connectTo"/> (the way the egress tests' hosts file does) when one is given.
    /// </summary>
    private static HttpClient HostClient(IPAddress? connectTo = null, System.Net.Security.RemoteCertificateValidationCallback? validate = null)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        if (connectTo is not null)
        {
            handler.ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(connectTo.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(connectTo, context.DnsEndPoint.Port, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        if (validate is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = validate;
        }
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    private static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null; // a live fixture's
        }
    }

    private static async Task<string> ReadExactlyAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.ASCII.GetString(buffer);
    }

    private static Task<ToolProcess.Result> RunAsync(string program, params string[] args) =>
        ToolProcess.RunAsync(program, args, "/", TimeSpan.FromSeconds(10));
}
