using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hutch.Daemon.Network;
using Hutch.Daemon.Network.Dns;
using Hutch.Protocol.Api;
using Hutch.Runtime.Network;
using Hutch.Tests.Runtime;

namespace Hutch.Tests.Daemon.Network.Dns;

/// <summary>
/// The resolver as a sandbox meets it (docs/design/0009-egress.md, section 3): a scratch network
/// namespace with the egress plumbing, the two UDP listeners made by EgressPlumbing.ListenDnsAsync,
/// and glibc inside asking. The only resolver is a fake lookup: no query leaves the machine (the
/// namespace has no device but lo, and the fake is the only thing a listener asks).
/// </summary>
public sealed class DnsInNetnsTests : IAsyncLifetime
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);
    private readonly ConcurrentQueue<string> _asked = new();
    private readonly ConcurrentQueue<DnsDecision> _decisions = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("hutch-dns-").FullName;
    private ScratchNetns _ns = null!;
    private DnsListener[] _listeners = [];

    public async Task InitializeAsync()
    {
        _ns = await ScratchNetns.StartAsync();
        await EgressPlumbing.ApplyAsync(_ns.Pidfd, default);
        var (v4, v6) = await EgressPlumbing.ListenDnsAsync(_ns.Pidfd);
        var matcher = new PolicyMatcher(NetworkPolicyParser.Parse(new NetworkPolicy("public", Deny: ["blocked.test"])));
        var resolver = new DnsResolver(() => matcher, () => new RefusedRanges(HostAddresses.Empty, null), new SyntheticNames(), (name, _) =>
        {
            _asked.Enqueue(name);
            return Task.FromResult(name == "example.test" ? new[] { IPAddress.Parse("93.184.215.14") } : throw new SocketException((int)SocketError.HostNotFound));
        });
        var limit = new DnsRateLimit();
        _listeners = [new DnsListener(v4, resolver, limit, _decisions.Enqueue), new DnsListener(v6, resolver, limit, _decisions.Enqueue)];
    }

    [Fact]
    public async Task Glibc_InTheSandbox_GetsTheSyntheticAddresses_ForAnAllowedName()
    {
        var output = await InNamespaceWithOurResolvConf("getent ahosts example.test");

        // One line per address and socket type; the first carries the name: "fd68:7574:6368:1:: STREAM example.test".
        var streams = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[1] == "STREAM").Select(f => f[0]).Order().ToList();
        Assert.Equal(["198.18.1.0", "fd68:7574:6368:1::"], streams);
        Assert.Contains("STREAM example.test", output);
        Assert.All(_asked, name => Assert.Equal("example.test", name));
    }

    [Fact]
    public async Task Glibc_InTheSandbox_GetsNoSuchName_ForADeniedOne_WhichIsNeverLookedUp()
    {
        var output = await InNamespaceWithOurResolvConf("getent ahosts blocked.test; echo \"exit $?\"");

        Assert.Equal("exit 2", output.Trim()); // getent: "key not found"
        Assert.Empty(_asked);
        Assert.Contains(_decisions, d => d is { Name: "blocked.test", Outcome: DnsOutcomes.Refused, Code: EgressCodes.DnsDenied, Rule: "blocked.test" });
    }

    [Theory]
    [InlineData("127.0.0.1")]       // the resolv.conf address: the listener itself, not redirected
    [InlineData("192.0.2.53")]      // any other resolver address: redirected to it by the ruleset
    [InlineData("::1")]
    [InlineData("2001:db8::53")]
    public async Task ARawQuery_ToAnyResolverAddress_GetsTheDenialWithItsExtendedError(string resolverAddress)
    {
        var to = new IPEndPoint(IPAddress.Parse(resolverAddress), 53);
        using var udp = await _ns.SocketAsync(to.AddressFamily, SocketType.Dgram);

        await udp.SendToAsync(DnsWire.Query(0x5151, "blocked.test", DnsMessage.TypeA), to);
        var buffer = new byte[2048];
        var n = await udp.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Soon);
        var answer = buffer[..n];

        Assert.Equal((0x5151, 0x8183), (DnsWire.U16(answer, 0), DnsWire.U16(answer, 2)));
        Assert.EndsWith("egress_dns_denied: blocked.test refused: denied by network.deny entry 'blocked.test'", Encoding.UTF8.GetString(answer));
        Assert.Empty(_asked);
    }

    /// <summary>Runs <paramref name="script"/> in the namespace and a private mount namespace where /etc/resolv.conf says 127.0.0.1 with EDNS.</summary>
    private async Task<string> InNamespaceWithOurResolvConf(string script)
    {
        var conf = Path.Join(_dir, "resolv.conf");
        await File.WriteAllTextAsync(conf, "nameserver 127.0.0.1\noptions edns0 attempts:1 timeout:2\n");
        // unshare makes the new mount namespace private: the bind mount never reaches the host's /etc.
        return await _ns.RunAsync("unshare", "--mount", "sh", "-c", $"mount --bind {conf} /etc/resolv.conf && {script}");
    }

    public async Task DisposeAsync()
    {
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync();
        }
        await _ns.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
