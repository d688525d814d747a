using System.Net;
using Hutch.Daemon.Network;

namespace Hutch.Tests.Daemon.Network;

/// <summary>The always-refused ranges of docs/design/0009 section 3, judged on parsed addresses.</summary>
[Trait("Category", "Unit")]
public sealed class RefusedRangesTests
{
    private const int DaemonPort = 8787;
    private static readonly HostAddresses Host = new([IPAddress.Parse("192.0.2.2"), IPAddress.Parse("fd00::2"), IPAddress.Parse("fe80::fc:ff:fe00:1"), IPAddress.Parse("93.184.215.99")]);
    private static readonly RefusedRanges Ranges = new(Host, DaemonPort);
    private static readonly IPNetwork[] OpenTest = [IPNetwork.Parse("10.213.0.0/16")];

    [Theory]
    [InlineData("0.0.0.0", "0.0.0.0/8")]
    [InlineData("0.1.2.3", "0.0.0.0/8")]
    [InlineData("10.1.2.3", "10.0.0.0/8")]
    [InlineData("100.64.0.1", "100.64.0.0/10")]
    [InlineData("100.127.255.254", "100.64.0.0/10")]
    [InlineData("127.0.0.1", "127.0.0.0/8")]
    [InlineData("127.255.0.1", "127.0.0.0/8")]
    [InlineData("169.254.169.254", "169.254.0.0/16")]
    [InlineData("169.254.170.2", "169.254.0.0/16")]
    [InlineData("172.16.0.1", "172.16.0.0/12")]
    [InlineData("172.31.255.255", "172.16.0.0/12")]
    [InlineData("192.0.0.9", "192.0.0.0/24")]
    [InlineData("192.0.2.7", "192.0.2.0/24")]
    [InlineData("192.88.99.1", "192.88.99.0/24")]
    [InlineData("192.168.1.1", "192.168.0.0/16")]
    [InlineData("198.18.1.5", "198.18.0.0/15")]
    [InlineData("198.19.255.255", "198.18.0.0/15")]
    [InlineData("198.51.100.1", "198.51.100.0/24")]
    [InlineData("203.0.113.7", "203.0.113.0/24")]
    [InlineData("224.0.0.251", "224.0.0.0/4")]
    [InlineData("239.255.255.250", "224.0.0.0/4")]
    [InlineData("240.0.0.1", "240.0.0.0/4")]
    [InlineData("255.255.255.255", "240.0.0.0/4")]
    [InlineData("::", "::/96")]
    [InlineData("::1", "::/96")]
    [InlineData("::7f00:1", "::/96")]
    [InlineData("64:ff9b:1::1", "64:ff9b:1::/48")]
    [InlineData("100::1", "100::/64")]
    [InlineData("2001::1", "2001::/23")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/23")]
    [InlineData("2001:db8::7", "2001:db8::/32")]
    [InlineData("2002:c0a8:101::1", "2002::/16")]
    [InlineData("2002:5db8:d70e::1", "2002::/16")]
    [InlineData("3fff::1", "3fff::/20")]
    [InlineData("5f00::1", "5f00::/16")]
    [InlineData("fc00::1", "fc00::/7")]
    [InlineData("fd00:ec2::254", "fc00::/7")]
    [InlineData("fe80::1", "fe80::/10")]
    [InlineData("fec0::1", "fec0::/10")]
    [InlineData("ff02::1", "ff00::/8")]
    public void AlwaysRefusedRange_IsRefused_NamingIt(string address, string range)
    {
        var r = Ranges.Check(IPAddress.Parse(address), 443);
        Assert.NotNull(r);
        Assert.Equal((EgressCodes.PrivateAddress, range), (r.Code, r.Range));
        Assert.Contains(range, r.Message);
    }

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("8.8.8.8")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("198.17.255.255")]
    [InlineData("198.20.0.0")]
    [InlineData("223.255.255.255")]
    [InlineData("2606:4700::6810:84e5")]
    [InlineData("2a00:1450:4001:80b::200e")]
    [InlineData("64:ff9b::808:808")]
    public void PublicAddress_Passes(string address) => Assert.Null(Ranges.Check(IPAddress.Parse(address), 443));

    [Theory]
    [InlineData("::ffff:127.0.0.1", "127.0.0.0/8", "127.0.0.1")]
    [InlineData("::ffff:169.254.169.254", "169.254.0.0/16", "169.254.169.254")]
    [InlineData("::ffff:0:10.0.0.1", "10.0.0.0/8", "10.0.0.1")]
    [InlineData("64:ff9b::a00:1", "10.0.0.0/8", "10.0.0.1")]
    [InlineData("64:ff9b::7f00:1", "127.0.0.0/8", "127.0.0.1")]
    public void EmbeddedIPv4_IsJudgedAsThatIPv4(string address, string range, string inner)
    {
        var r = Ranges.Check(IPAddress.Parse(address), 443);
        Assert.NotNull(r);
        Assert.Equal(range, r.Range);
        Assert.Contains(inner, r.Message);
    }

    [Fact]
    public void MappedAndTranslated_AreConnectedToAsTheirIPv4()
    {
        Assert.Equal(IPAddress.Parse("93.184.215.14"), RefusedRanges.Effective(IPAddress.Parse("::ffff:93.184.215.14")));
        Assert.Equal(IPAddress.Parse("93.184.215.14"), RefusedRanges.Effective(IPAddress.Parse("::ffff:0:93.184.215.14")));
        Assert.Null(Ranges.Check(IPAddress.Parse("::ffff:93.184.215.14"), 443));
        // NAT64 is connected to as is: the gateway is what reaches the IPv4.
        Assert.Equal(IPAddress.Parse("64:ff9b::808:808"), RefusedRanges.Effective(IPAddress.Parse("64:ff9b::808:808")));
    }

    [Theory]
    [InlineData("192.0.2.2")]
    [InlineData("fd00::2")]
    [InlineData("fe80::fc:ff:fe00:1")]
    [InlineData("fe80::fc:ff:fe00:1%2")]
    [InlineData("::ffff:192.0.2.2")]
    [InlineData("93.184.215.99")]
    public void HostAddress_IsRefused_EvenWhenPublic(string address)
    {
        var r = Ranges.Check(IPAddress.Parse(address), 443, [IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")]);
        Assert.Equal("host address", r?.Range);
        Assert.StartsWith(address, r!.Message);
        Assert.Equal(address.StartsWith("::ffff:", StringComparison.Ordinal), r.Message.Contains("(the IPv4 address 192.0.2.2)"));
    }

    [Fact]
    public void OpenedNetwork_LiftsPrivateRanges_ButNotTheDaemonPortOrWhatNoSettingOpens()
    {
        var opened = OpenTest.Append(IPNetwork.Parse("127.0.0.0/8")).Append(IPNetwork.Parse("169.254.0.0/16")).Append(IPNetwork.Parse("fd00::/8")).ToArray();
        Assert.Null(Ranges.Check(IPAddress.Parse("10.213.77.2"), 8080, opened));
        Assert.Equal("daemon port", Ranges.Check(IPAddress.Parse("10.213.77.2"), DaemonPort, opened)?.Range);
        Assert.Equal("10.0.0.0/8", Ranges.Check(IPAddress.Parse("10.214.0.1"), 8080, opened)?.Range);
        Assert.Equal("127.0.0.0/8", Ranges.Check(IPAddress.Parse("127.0.0.1"), 8080, opened)?.Range);
        Assert.Equal("169.254.169.254/32", Ranges.Check(IPAddress.Parse("169.254.169.254"), 80, opened)?.Range);
        Assert.Null(Ranges.Check(IPAddress.Parse("169.254.1.1"), 80, opened));
        Assert.Equal("fd00:ec2::254/128", Ranges.Check(IPAddress.Parse("fd00:ec2::254"), 80, opened)?.Range);
        Assert.Equal("host address", Ranges.Check(IPAddress.Parse("fd00::2"), 80, opened)?.Range);
        Assert.Null(Ranges.Check(IPAddress.Parse("fd00::3"), 80, opened));
    }

    [Theory]
    [InlineData("2130706433")]
    [InlineData("0x7f.1")]
    [InlineData("0177.0.0.1")]
    [InlineData("127.1")]
    [InlineData("0x7f000001")]
    [InlineData("017700000001")]
    public void OddSpellingsOfLoopback_AreRefused_OnceParsed(string text)
    {
        // What a program's C library makes of the text is what it connects to; that address is what is judged.
        var address = InetAton.Parse(text);
        Assert.Equal(IPAddress.Loopback, address);
        Assert.Equal("127.0.0.0/8", Ranges.Check(address!, 80)?.Range);
        // .NET's own parser reads them the same way: the proxy must never connect with a string.
        Assert.Equal(IPAddress.Loopback, IPAddress.Parse(text));
    }

    [Fact]
    public void Zero_IsThisNetwork() => Assert.Equal("0.0.0.0/8", Ranges.Check(InetAton.Parse("0")!, 80)?.Range);
}
