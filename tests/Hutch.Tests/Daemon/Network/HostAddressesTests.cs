using System.Net;
using Hutch.Daemon.Network;

namespace Hutch.Tests.Daemon.Network;

/// <summary>The host's own addresses, read from the kernel's /proc tables (fixtures as this machine prints them).</summary>
[Trait("Category", "Unit")]
public sealed class HostAddressesTests
{
    private const string FibTrie = """
        Main:
          +-- 0.0.0.0/0 3 0 5
             |-- 0.0.0.0
                /0 universe UNICAST
             +-- 127.0.0.0/8 2 0 2
                +-- 127.0.0.0/31 1 0 0
                   |-- 127.0.0.0
                      /8 host LOCAL
                   |-- 127.0.0.1
                      /32 host LOCAL
                |-- 127.255.255.255
                   /32 link BROADCAST
             +-- 192.0.2.0/24 2 0 2
                +-- 192.0.2.0/30 2 0 2
                   |-- 192.0.2.0
                      /24 link UNICAST
                   |-- 192.0.2.2
                      /32 host LOCAL
                |-- 192.0.2.255
                   /32 link BROADCAST
        Local:
          +-- 0.0.0.0/0 3 0 5
             +-- 10.213.7.0/30 2 0 2
                   |-- 10.213.7.1
                      /30 link UNICAST
                      /32 host LOCAL
        """;

    private const string IfInet6 = """
        fe8000000000000000fc00fffe000001 04 40 20 80     eth0
        00000000000000000000000000000001 01 80 10 80       lo
        fd000000000000000000000000000002 04 40 00 82     eth0
        short 01 80 10 80 lo
        """;

    [Fact]
    public void FibTrie_GivesTheLocalHostRoutes_Only() =>
        Assert.Equal(["127.0.0.1", "192.0.2.2", "10.213.7.1"], HostAddresses.ParseFibTrie(FibTrie).Select(a => a.ToString()));

    [Fact]
    public void IfInet6_GivesEveryAddress_SkippingMalformedLines() =>
        Assert.Equal(["fe80::fc:ff:fe00:1", "::1", "fd00::2"], HostAddresses.ParseIfInet6(IfInet6).Select(a => a.ToString()));

    [Fact]
    public void Contains_IgnoresScopeIds_AndMappedForms()
    {
        var host = new HostAddresses([.. HostAddresses.ParseFibTrie(FibTrie), .. HostAddresses.ParseIfInet6(IfInet6)]);
        Assert.True(host.Contains(IPAddress.Parse("fe80::fc:ff:fe00:1%4")));
        Assert.True(host.Contains(IPAddress.Parse("::ffff:192.0.2.2")));
        Assert.False(host.Contains(IPAddress.Parse("192.0.2.3")));
    }

    [Fact]
    public void Read_FindsThisHostsLoopback()
    {
        var host = HostAddresses.Read();
        Assert.True(host.Contains(IPAddress.Loopback));
        Assert.True(host.All.Count >= 1);
    }
}
