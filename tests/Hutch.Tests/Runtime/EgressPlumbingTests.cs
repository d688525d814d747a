using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Runtime.Network;
using Xunit.Abstractions;

namespace Hutch.Tests.Runtime;

/// <summary>
/// The egress capture plumbing on the real kernel, each test in a scratch network namespace of its own
/// (docs/design/0009-egress.md, section 1). Only TEST-NET addresses (203.0.113.0/24, 2001:db8::/32)
/// are dialled, and no device of those namespaces leads anywhere: no packet leaves them.
/// </summary>
public sealed class EgressPlumbingTests(ITestOutputHelper output)
{
    private static readonly IPEndPoint OutV4 = new(IPAddress.Parse("203.0.113.7"), 443);
    private static readonly IPEndPoint OutV6 = new(IPAddress.Parse("2001:db8::7"), 8443);
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task BeforeTheRulesAreLoaded_NothingIsApplied_AndAConnectOutFailsAtOnceWithNoRoute()
    {
        await using var ns = await ScratchNetns.StartAsync();

        Assert.False(await EgressPlumbing.IsAppliedAsync(ns.Pidfd, default));
        using var client = await ns.SocketAsync(AddressFamily.InterNetwork);
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(OutV4).WaitAsync(Soon));

        Assert.Equal(SocketError.NetworkUnreachable, e.SocketErrorCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task WithoutNatRules_TheKernelTracksNoConnection_SoThereIsNoOriginalDestination()
    {
        await using var ns = await ScratchNetns.StartAsync();
        using var server = await ListenInAsync(ns, new IPEndPoint(IPAddress.Loopback, 8080));
        using var client = await ns.SocketAsync(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, 8080).WaitAsync(Soon);
        using var accepted = await server.AcceptAsync().WaitAsync(Soon);

        Assert.Null(NetworkNamespace.OriginalDestination(accepted));
    }

    [Fact]
    public async Task OnceApplied_EveryTcpConnectionReachesTheProxy_WhichReadsWhereItWasGoing()
    {
        await using var ns = await ScratchNetns.StartAsync();
        await EgressPlumbing.ApplyAsync(ns.Pidfd, default);
        var (v4, v6) = await EgressPlumbing.ListenAsync(ns.Pidfd);
        using var _ = v4;
        using var __ = v6;

        Assert.True(await EgressPlumbing.IsAppliedAsync(ns.Pidfd, default));
        Assert.Equal(OutV4, await OriginalDestinationOfAsync(ns, v4, OutV4));
        Assert.Equal(OutV6, await OriginalDestinationOfAsync(ns, v6, OutV6));
        // A client that speaks to the proxy itself (HTTP_PROXY) is told apart by this: the listener's own address.
        Assert.Equal(EgressPlumbing.ProxyV4, await OriginalDestinationOfAsync(ns, v4, EgressPlumbing.ProxyV4));
        Assert.Equal(EgressPlumbing.ProxyV6, await OriginalDestinationOfAsync(ns, v6, EgressPlumbing.ProxyV6));
        // No listener is ever asked about the sandbox's own servers.
        using var server = await ListenInAsync(ns, new IPEndPoint(IPAddress.Loopback, 8080));
        using var local = await ns.SocketAsync(AddressFamily.InterNetwork);
        await local.ConnectAsync(IPAddress.Loopback, 8080).WaitAsync(Soon);
        using var reached = await server.AcceptAsync().WaitAsync(Soon);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), NetworkNamespace.OriginalDestination(reached));
        Assert.False(v4.Poll(0, SelectMode.SelectRead), "the proxy saw a connection to the sandbox's own server");
    }

    [Fact]
    public async Task OnceApplied_UdpOtherThanDns_IsRefusedAtOnce()
    {
        await using var ns = await ScratchNetns.StartAsync();
        await EgressPlumbing.ApplyAsync(ns.Pidfd, default);
        using var udp = await ns.SocketAsync(AddressFamily.InterNetwork, SocketType.Dgram);

        var e = Assert.Throws<SocketException>(() => udp.SendTo("x"u8, new IPEndPoint(OutV4.Address, 9999)));

        // The kernel answers EPERM (strace: sendto(...) = -1 EPERM) before anything is sent; .NET folds
        // EPERM and EACCES into AccessDenied (and then reports NativeErrorCode 13, EACCES).
        Assert.Equal(SocketError.AccessDenied, e.SocketErrorCode);
    }

    [Fact]
    public async Task ApplyingTwice_LeavesOneTable_OneAddressAndOneDefaultRouteOfEachFamily()
    {
        await using var ns = await ScratchNetns.StartAsync();
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var watch = Stopwatch.StartNew();
            await EgressPlumbing.ApplyAsync(ns.Pidfd, default);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        output.WriteLine($"ApplyAsync: first {times[0]:F1} ms, again {string.Join(", ", times.Skip(1).Select(t => $"{t:F1}"))} ms");

        Assert.True(await EgressPlumbing.IsAppliedAsync(ns.Pidfd, default));
        var tables = JsonDocument.Parse(await ns.RunAsync("nft", "-j", "list", "tables")).RootElement.GetProperty("nftables")
            .EnumerateArray().Where(e => e.TryGetProperty("table", out _)).Select(e => e.GetProperty("table")).ToList();
        var table = Assert.Single(tables);
        Assert.Equal("inet", table.GetProperty("family").GetString());
        Assert.Equal("hutch", table.GetProperty("name").GetString());
        var addresses = JsonDocument.Parse(await ns.RunAsync("ip", "-j", "addr", "show", "dev", "lo")).RootElement[0].GetProperty("addr_info")
            .EnumerateArray().Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()}").ToList();
        Assert.Single(addresses, a => a == "198.18.0.1/32");
        Assert.Single(addresses, a => a == "fd68:7574:6368::1/128");
        foreach (var (family, source) in new[] { ("-4", "198.18.0.1"), ("-6", "fd68:7574:6368::1") })
        {
            var route = Assert.Single(JsonDocument.Parse(await ns.RunAsync("ip", "-j", family, "route", "show", "default")).RootElement.EnumerateArray());
            Assert.Equal("lo", route.GetProperty("dev").GetString());
            Assert.Equal(source, route.GetProperty("prefsrc").GetString());
        }
        // nft ran as a child of the thread that had entered the namespace: our own namespace is untouched.
        Assert.DoesNotContain("table inet hutch", await RunHereAsync("nft", "list", "tables"));
        Assert.DoesNotContain("198.18.0.1/32", await RunHereAsync("ip", "-4", "addr"));
    }

    [Fact]
    public async Task WithTheRulesDeleted_AConnectOutReachesNoListener_FailClosed()
    {
        await using var ns = await ScratchNetns.StartAsync();
        await EgressPlumbing.ApplyAsync(ns.Pidfd, default);
        var (v4, v6) = await EgressPlumbing.ListenAsync(ns.Pidfd);
        using var _ = v4;
        using var __ = v6;
        await ns.RunAsync("nft", "delete", "table", "inet", "hutch");

        Assert.False(await EgressPlumbing.IsAppliedAsync(ns.Pidfd, default));
        using var client = await ns.SocketAsync(AddressFamily.InterNetwork);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        // The SYN goes out lo, comes back to a namespace that does not forward, and is dropped: no answer at all.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ConnectAsync(OutV4, timeout.Token).AsTask());
        Assert.False(v4.Poll(0, SelectMode.SelectRead), "a connection reached the proxy without the rules");
        Assert.False(v6.Poll(0, SelectMode.SelectRead), "a connection reached the proxy without the rules");
    }

    [Fact]
    public async Task WithNoListener_AConnectOutIsRefusedAtOnce()
    {
        await using var ns = await ScratchNetns.StartAsync();
        await EgressPlumbing.ApplyAsync(ns.Pidfd, default);
        var (v4, v6) = await EgressPlumbing.ListenAsync(ns.Pidfd);
        v4.Dispose();
        v6.Dispose();

        foreach (var target in new[] { OutV4, OutV6 })
        {
            using var client = await ns.SocketAsync(target.AddressFamily);
            var watch = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(target).WaitAsync(Soon));
            Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"{target}: took {watch.Elapsed}");
        }
    }

    private static async Task<IPEndPoint?> OriginalDestinationOfAsync(ScratchNetns ns, Socket listener, IPEndPoint target)
    {
        using var client = await ns.SocketAsync(target.AddressFamily);
        await client.ConnectAsync(target).WaitAsync(Soon);
        using var accepted = await listener.AcceptAsync().WaitAsync(Soon);
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
        return NetworkNamespace.OriginalDestination(accepted);
    }

    private static async Task<string> RunHereAsync(params string[] command)
    {
        using var run = Process.Start(new ProcessStartInfo(command[0], command[1..]) { RedirectStandardOutput = true })!;
        var text = await run.StandardOutput.ReadToEndAsync().WaitAsync(Soon);
        await run.WaitForExitAsync().WaitAsync(Soon);
        Assert.Equal(0, run.ExitCode);
        return text;
    }

    private static Task<Socket> ListenInAsync(ScratchNetns ns, IPEndPoint at) =>
        NetworkNamespace.RunInAsync(ns.Pidfd, () =>
        {
            var socket = new Socket(at.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(at);
            socket.Listen(1);
            return socket;
        });
}
