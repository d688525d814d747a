using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Network;

/// <summary>
/// Egress through the real capture: runc sandboxes whose connections the daemon's proxy judges,
/// to real upstream servers in a network namespace the fixture made (never any other address).
/// What a refused connection looks like from inside: connect() succeeds (the redirect), then a reset.
/// </summary>
public sealed class EgressTests(EgressFixture fixture) : IClassFixture<EgressFixture>
{
    private HutchClient Client => fixture.Client;
    private EgressUpstreams Up => fixture.Upstreams;

    /// <summary>
    /// Python in the sandbox: connect, read the upstream's banner, send a line, read its echo. Prints one
    /// word: ok (and what came back), reset, refused, unreachable, eperm, timeout or eof.
    /// </summary>
    private static string Probe(string host, int port, int family = 0) => $$"""
        import socket, errno
        def probe():
            try:
                s = socket.socket(socket.AF_INET6 if {{family}} == 6 or ':' in '{{host}}' else socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(5)
                s.connect(('{{host}}', {{port}}))
                banner = s.recv(100)
                if not banner:
                    return 'eof'
                s.sendall(b'ping\n')
                echo = s.recv(100)
                return 'ok ' + banner.decode().strip() + ' ' + echo.decode().strip()
            except ConnectionResetError: return 'reset'
            except ConnectionRefusedError: return 'refused'
            except socket.timeout: return 'timeout'
            except OSError as e:
                return {errno.ENETUNREACH: 'unreachable', errno.EPERM: 'eperm', errno.EHOSTUNREACH: 'unreachable'}.get(e.errno, 'oserror %d' % e.errno)
        print(probe())
        """;

    private async Task<TestSandbox> CreateAsync(params string[] allow) =>
        await fixture.CreateAsync(new CreateSandboxRequest(Network: new NetworkPolicy(NetworkModes.Allowlist, allow)));

    private async Task<List<NetworkEvent>> EventsAsync(string id)
    {
        var events = new List<NetworkEvent>();
        await foreach (var e in Client.ReadNetworkEventsAsync(id))
        {
            events.Add(e);
        }
        return events;
    }

    /// <summary>Events are written when a connection ends: wait until <paramref name="count"/> are there.</summary>
    private async Task<List<NetworkEvent>> WaitForEventsAsync(string id, int count)
    {
        for (var i = 0; i < 100; i++)
        {
            var events = await EventsAsync(id);
            if (events.Count >= count)
            {
                return events;
            }
            await Task.Delay(50);
        }
        return await EventsAsync(id);
    }

    [Fact]
    public async Task ByDefault_NothingLeaves_AndTheNamespaceHasNoRoute()
    {
        await using var sandbox = await fixture.CreateAsync();

        var probe = await sandbox.PythonAsync(Probe(Up.Address.ToString(), EgressUpstreams.TcpPort));
        var routes = await sandbox.ShAsync("tail -n +2 /proc/net/route | wc -l");

        Assert.Equal("unreachable\n", probe.Stdout);
        Assert.Equal("0\n", routes.Stdout);
        var info = await Client.GetSandboxAsync(sandbox.Id);
        Assert.Equal(NetworkModes.None, info.Network?.Mode);
        Assert.Null(info.NetworkUsage); // no egress, no counters
        Assert.Empty(await EventsAsync(sandbox.Id));
    }

    [Fact]
    public async Task AnOpenedNetwork_IsReached_ByARawSocket_AndTheConnectionIsRecorded()
    {
        await using var sandbox = await CreateAsync("net:test");
        var before = Up.RequestsSeen.Count;

        var probe = await sandbox.PythonAsync(Probe(Up.Address.ToString(), EgressUpstreams.TcpPort));

        Assert.Equal("ok hello from upstream ping\n", probe.Stdout);
        Assert.True(Up.RequestsSeen.Count > before);
        var e = Assert.Single(await WaitForEventsAsync(sandbox.Id, 1));
        Assert.Equal(NetworkOutcomes.Allowed, e.Outcome);
        Assert.Equal(Up.Address.ToString(), e.Address);
        Assert.Equal(EgressUpstreams.TcpPort, e.Port);
        Assert.Equal("net:test", e.Rule);
        Assert.Equal(5, e.BytesOut); // "ping\n"
        Assert.True(e.BytesIn >= 25, $"bytes in: {e.BytesIn}");
    }

    [Fact]
    public async Task AnHttpClient_WithNoProxySettings_GoesThroughTheCapture()
    {
        await using var sandbox = await CreateAsync($"net:test:{EgressUpstreams.HttpPort}");

        var curl = await sandbox.ShAsync($"env -u http_proxy -u HTTP_PROXY curl -sS --max-time 5 http://{Up.Address}:{EgressUpstreams.HttpPort}/");

        Assert.Equal($"upstream-ok {EgressUpstreams.HttpPort}\n", curl.Stdout);
        Assert.Contains(Up.HttpRequestsSeen, r => r.Host == $"{Up.Address}:{EgressUpstreams.HttpPort}");
    }

    [Fact]
    public async Task OverIPv6_AnOpenedNetwork_IsReached()
    {
        await using var sandbox = await CreateAsync("net:test");

        var probe = await sandbox.PythonAsync(Probe(Up.AddressV6.ToString(), EgressUpstreams.TcpPort, family: 6));

        Assert.Equal("ok hello from upstream ping\n", probe.Stdout);
    }

    [Fact]
    public async Task PublicMode_RefusesPrivateHostMetadataAndMappedAddresses_AndNothingReachesThem()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Network: new NetworkPolicy(NetworkModes.Public)));
        var before = Up.RequestsSeen.Count;
        var daemonPort = new Uri(fixture.Daemon.Url).Port;

        foreach (var (host, port) in new[]
        {
            (Up.Address.ToString(), EgressUpstreams.TcpPort),            // private, not opened
            (Up.HostSideAddress.ToString(), EgressUpstreams.TcpPort),    // one of the host's own addresses
            ($"::ffff:{Up.Address}", EgressUpstreams.TcpPort),           // the same private address, IPv4-mapped
            ("169.254.169.254", 80),                        // cloud metadata
            (Up.HostSideAddress.ToString(), daemonPort),    // the daemon's own port on a host address
        })
        {
            var probe = await sandbox.PythonAsync(Probe(host, port));
            Assert.True(probe.Stdout == "reset\n", $"{host}:{port} gave {probe.Stdout}{probe.Stderr}");
        }

        Assert.Equal(before, Up.RequestsSeen.Count);
        var events = await WaitForEventsAsync(sandbox.Id, 5);
        Assert.Equal(5, events.Count);
        Assert.All(events, e => Assert.Equal((NetworkOutcomes.Refused, "egress_private_address"), (e.Outcome, e.Code)));
        Assert.Contains(events, e => e.Message.Contains("host's own addresses", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOpenedNetwork_StillRefusesTheHostSide_AndDenyWins()
    {
        await using var opened = await CreateAsync("net:test");
        await using var denied = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, ["net:test"], [$"{Up.Address}:{EgressUpstreams.TcpPort}"])));

        var hostSide = await opened.PythonAsync(Probe(Up.HostSideAddress.ToString(), EgressUpstreams.TcpPort));
        var deny = await denied.PythonAsync(Probe(Up.Address.ToString(), EgressUpstreams.TcpPort));
        var otherPort = await denied.PythonAsync(Probe(Up.Address.ToString(), EgressUpstreams.HttpPort));

        Assert.Equal("reset\n", hostSide.Stdout);
        Assert.Equal("reset\n", deny.Stdout);
        Assert.NotEqual("reset\n", otherPort.Stdout); // the deny names one port only
        var refused = Assert.Single(await WaitForEventsAsync(denied.Id, 2), e => e.Outcome == NetworkOutcomes.Refused);
        Assert.Equal(("egress_denied_address", $"{Up.Address}:{EgressUpstreams.TcpPort}"), (refused.Code, refused.Rule));
    }

    [Fact]
    public async Task UdpAndAddressesNotAllowed_AreRefused()
    {
        await using var sandbox = await CreateAsync($"{Up.Address}:{EgressUpstreams.HttpPort}");

        var udp = await sandbox.PythonAsync($"""
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.sendto(b'x', ('{Up.Address}', 9999)); print('sent')
            except PermissionError: print('eperm')
            """);
        // ICMP: no echo socket (ping_group_range) and no raw socket (no CAP_NET_RAW); a ping cannot leave.
        var icmp = await sandbox.PythonAsync($"""
            import socket
            for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
                try:
                    s = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
                    s.sendto(b'\x08\x00\xf7\xff\x00\x00\x00\x00', ('{Up.Address}', 0)); print('sent')
                except PermissionError: print('eperm')
            """);
        var port = await sandbox.PythonAsync(Probe(Up.Address.ToString(), EgressUpstreams.TcpPort));

        Assert.Equal("eperm\neperm\n", icmp.Stdout);
        Assert.Equal("eperm\n", udp.Stdout);
        Assert.Equal("reset\n", port.Stdout);
        var e = Assert.Single(await WaitForEventsAsync(sandbox.Id, 1));
        Assert.Equal("egress_port", e.Code);
    }

    [Fact]
    public async Task ChangingThePolicy_ClosesOpenConnections_ItNoLongerAllows()
    {
        await using var sandbox = await CreateAsync("net:test");
        // A connection held open across the change: the banner arrives, then the sandbox waits.
        await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["python3", "-c", $$"""
            import socket, time
            s = socket.create_connection(('{{Up.Address}}', {{EgressUpstreams.TcpPort}}))
            print(s.recv(100).decode().strip(), flush=True)
            time.sleep(1.5)
            try:
                s.sendall(b'after\n'); print('read', s.recv(100), flush=True)
            except OSError as e: print('error', e.errno, flush=True)
            """], Name: "holder"));
        await WaitForLogAsync(sandbox.Id, "holder", "hello from upstream");

        var info = await Client.SetNetworkAsync(sandbox.Id, new NetworkPolicy(NetworkModes.None));
        var after = await sandbox.PythonAsync(Probe(Up.Address.ToString(), EgressUpstreams.TcpPort));
        var log = await WaitForLogAsync(sandbox.Id, "holder", "\n", lines: 2);

        Assert.Equal(NetworkModes.None, info.Network?.Mode);
        Assert.Equal("reset\n", after.Stdout);
        Assert.Matches("(error 104|read b'')", log); // ECONNRESET, or the reset read as an end
        var events = await WaitForEventsAsync(sandbox.Id, 2);
        Assert.Contains(events, e => e.Code == "egress_policy_changed");
        Assert.Contains(events, e => e.Code == "egress_policy_none");
    }

    private async Task<string> WaitForLogAsync(string id, string process, string text, int lines = 1)
    {
        var output = "";
        for (var i = 0; i < 200; i++)
        {
            var logs = await Client.ReadProcessLogsAsync(id, process);
            output = logs.Stdout;
            if (output.Contains(text, StringComparison.Ordinal) && output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= lines)
            {
                return output;
            }
            await Task.Delay(25);
        }
        Assert.Fail($"process {process} never printed '{text}': {output}");
        return output;
    }

    [Fact]
    public async Task BadEntries_AreRefusedAtCreate_WithTheField()
    {
        var preset = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, Preset: "everything"))));
        var bad = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy("everything", ["0x7f.1"]))));

        Assert.Equal((ErrorCodes.InvalidNetworkPolicy, 400), (preset.Code, preset.Status));
        Assert.Contains("network.preset: 'everything' is not a preset", preset.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.InvalidNetworkPolicy, bad.Code);
        Assert.Contains("network.mode", bad.Message, StringComparison.Ordinal);
        Assert.Contains("network.allow[0]", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAllowedName_ResolvesAndConnects_ByNameOnly_AndOtherNamesAreNotResolved()
    {
        // The name's address is on the operator's test network, which a policy must ask for too (net:):
        // here on one unused port only, so the address itself stays unreachable on the others.
        await using var sandbox = await CreateAsync($"{EgressUpstreams.HostName}:{EgressUpstreams.HttpPort}", "net:test:9");

        var curl = await sandbox.ShAsync($"curl -sS --max-time 5 http://{EgressUpstreams.HostName}:{EgressUpstreams.HttpPort}/");
        var lookup = await sandbox.ShAsync($"getent ahostsv4 {EgressUpstreams.HostName} | head -1");
        var other = await sandbox.ShAsync("getent hosts not-allowed.test; echo status $?");
        var otherPort = await sandbox.PythonAsync(Probe(EgressUpstreams.HostName, EgressUpstreams.TcpPort, family: 4));
        var byAddress = await sandbox.PythonAsync(Probe(Up.Address.ToString(), EgressUpstreams.HttpPort));

        Assert.True(curl.Stdout == $"upstream-ok {EgressUpstreams.HttpPort}\n",
            $"curl: {curl.Stdout}{curl.Stderr}; lookup: {lookup.Stdout}{lookup.Stderr}; events: {string.Join(" | ", (await EventsAsync(sandbox.Id)).Select(e => e.Message))}");
        Assert.Contains(Up.HttpRequestsSeen, r => r.Host == $"{EgressUpstreams.HostName}:{EgressUpstreams.HttpPort}");
        Assert.StartsWith("198.18.1.", lookup.Stdout, StringComparison.Ordinal); // a synthetic address, not the upstream's
        Assert.Equal("status 2\n", other.Stdout);
        Assert.Equal("reset\n", otherPort.Stdout);
        Assert.Equal("reset\n", byAddress.Stdout); // the name is allowed, not its address
        var events = await WaitForEventsAsync(sandbox.Id, 4);
        Assert.Contains(events, e => (e.Outcome, e.Host, e.Rule) == (NetworkOutcomes.Allowed, EgressUpstreams.HostName, $"{EgressUpstreams.HostName}:{EgressUpstreams.HttpPort}"));
        Assert.Contains(events, e => (e.Via, e.Code, e.Host) == ("dns", "egress_dns_denied", "not-allowed.test"));
        Assert.Contains(events, e => (e.Code, e.Host) == ("egress_port", EgressUpstreams.HostName));
    }

    [Fact]
    public async Task NamesThatResolveToLoopbackMetadataOrTheHost_AreNotAnswered_EvenWithTheNetworkOpened()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Public, ["net:test"])));
        var before = Up.RequestsSeen.Count;

        var lookups = await sandbox.ShAsync(
            "for n in rebind-loopback.test rebind-metadata.test rebind-host.test; do getent hosts $n; echo \"$n $?\"; done");

        Assert.Equal("rebind-loopback.test 2\nrebind-metadata.test 2\nrebind-host.test 2\n", lookups.Stdout);
        Assert.Equal(before, Up.RequestsSeen.Count);
        var events = await WaitForEventsAsync(sandbox.Id, 3);
        Assert.Equal(["rebind-host.test", "rebind-loopback.test", "rebind-metadata.test"],
            events.Where(e => (e.Via, e.Code) == ("dns", "egress_private_address")).Select(e => e.Host!).Distinct().Order());
    }
}

/// <summary>`hutch doctor`'s egress check: it loads the real capture into a scratch namespace of its own.</summary>
public sealed class EgressDoctorTests
{
    [Fact]
    public async Task TheCapture_LoadsInAScratchNamespace_AndNothingIsLeft()
    {
        var check = await Hutch.Cli.Engine.HostChecks.EgressAsync(CancellationToken.None);

        Assert.True(check.Ok, $"{check.Detail} / {check.Fix}");
        Assert.Contains("the capture loads in a scratch namespace", check.Detail, StringComparison.Ordinal);
        Assert.Contains("reached the proxy with that destination, UDP to it was refused", check.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("table inet hutch", (await ToolProcess.RunAsync("nft", ["list", "tables"], "/", TimeSpan.FromSeconds(10))).Stdout, StringComparison.Ordinal);
    }
}
