using System.Net;
using Hutch.Daemon.Network;

namespace Hutch.Tests.Daemon.Network;

/// <summary>CONNECT targets and Host authorities: strict forms in, odd numeric forms refused with the address they stand for.</summary>
[Trait("Category", "Unit")]
public sealed class TargetParserTests
{
    [Theory]
    [InlineData("example.org:443", null, "example.org", null, 443)]
    [InlineData("Example.ORG.:443", null, "example.org", null, 443)]
    [InlineData("example.org", 80, "example.org", null, 80)]
    [InlineData("xn--bcher-kva.example:8443", null, "xn--bcher-kva.example", null, 8443)]
    [InlineData("93.184.215.14:443", null, null, "93.184.215.14", 443)]
    [InlineData("127.0.0.1:22", null, null, "127.0.0.1", 22)]
    [InlineData("[2001:db8::7]:443", null, null, "2001:db8::7", 443)]
    [InlineData("[::ffff:127.0.0.1]:80", null, null, "::ffff:127.0.0.1", 80)]
    [InlineData("[::1]", 443, null, "::1", 443)]
    public void StrictForm_Parses(string text, int? defaultPort, string? host, string? address, int port)
    {
        var t = TargetParser.Parse(text, defaultPort, out var error);
        Assert.Null(error);
        Assert.Equal(new EgressTarget(host, address is null ? null : IPAddress.Parse(address), port), t);
    }

    [Theory]
    [InlineData("2130706433:80", "127.0.0.1")]
    [InlineData("0x7f.1:80", "127.0.0.1")]
    [InlineData("0177.0.0.1:80", "127.0.0.1")]
    [InlineData("127.1:80", "127.0.0.1")]
    [InlineData("0:80", "0.0.0.0")]
    [InlineData("0x7f000001:80", "127.0.0.1")]
    [InlineData("0xa9.0xfe.0xa9.0xfe:80", "169.254.169.254")]
    [InlineData("10.0.1:80", "10.0.0.1")]
    public void NumericFormsTheCLibraryAccepts_AreRefused_NamingTheAddress(string text, string address)
    {
        Assert.Null(TargetParser.Parse(text, null, out var error));
        Assert.Contains($"read by the C library as the address {address}", error);
        Assert.Equal(IPAddress.Parse(address), InetAton.Parse(text[..text.LastIndexOf(':')]));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("example.org", "names no port")]
    [InlineData("example.org:", "names no port")]
    [InlineData("example.org:0", "not a number 1-65535")]
    [InlineData("example.org:65536", "not a number 1-65535")]
    [InlineData("example.org:+443", "not a number 1-65535")]
    [InlineData("2001:db8::7:443", "write an IPv6 address in brackets")]
    [InlineData("[fe80::1%eth0]:443", "zones")]
    [InlineData("[example.org]:443", "no valid IPv6 address")]
    [InlineData("[::1]x", "without ']' followed by nothing or ':PORT'")]
    [InlineData("user@example.org:443", "'@' is not a letter")]
    [InlineData("*.example.org:443", "'*' may only be")]
    [InlineData("exa mple.org:443", "spaces")]
    [InlineData("bücher.example:443", "non-ASCII")]
    [InlineData("256.1.1.1:80", "last label is all digits")]
    [InlineData("01.2.3.4:80", "read by the C library as the address 1.2.3.4")]
    [InlineData(":443", "is empty")]
    public void Malformed_IsRefused(string text, string problem)
    {
        Assert.Null(TargetParser.Parse(text, null, out var error));
        Assert.Contains(problem, error);
    }

    [Theory]
    [InlineData("1.2.3.4", "1.2.3.4")]
    [InlineData("1.2.3", "1.2.0.3")]
    [InlineData("1.65535", "1.0.255.255")]
    [InlineData("4294967295", "255.255.255.255")]
    [InlineData("0x", "0.0.0.0")]
    [InlineData("00", "0.0.0.0")]
    public void InetAton_ReadsWhatGlibcReads(string text, string address) => Assert.Equal(IPAddress.Parse(address), InetAton.Parse(text));

    [Theory]
    [InlineData("4294967296")]
    [InlineData("1.2.3.4.5")]
    [InlineData("256.1.1.1")]
    [InlineData("1.16777216")]
    [InlineData("08.1.1.1")]
    [InlineData("0xg")]
    [InlineData("1..2")]
    [InlineData("example.org")]
    public void InetAton_ReadsNoAddressWhereGlibcReadsNone(string text) => Assert.Null(InetAton.Parse(text));
}
