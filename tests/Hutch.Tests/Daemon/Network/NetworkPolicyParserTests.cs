using System.Net;
using Hutch.Daemon;
using Hutch.Daemon.Network;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Daemon.Network;

/// <summary>Validation of network policies: what is accepted, how it is spelled, and that every refusal names its field.</summary>
[Trait("Category", "Unit")]
public sealed class NetworkPolicyParserTests
{
    private static ParsedNetworkPolicy Allow(params string[] entries) => NetworkPolicyParser.Parse(new NetworkPolicy(NetworkModes.Allowlist, entries));

    private static HutchException Refused(NetworkPolicy policy)
    {
        var e = Assert.Throws<HutchException>(() => NetworkPolicyParser.Parse(policy));
        Assert.Equal(ErrorCodes.InvalidNetworkPolicy, e.Code);
        Assert.Equal(400, ErrorStatus.Of(e.Code));
        return e;
    }

    [Fact]
    public void NoPolicy_IsNone()
    {
        Assert.Same(ParsedNetworkPolicy.None, NetworkPolicyParser.Parse(null));
        Assert.Equal(NetworkModes.None, NetworkPolicyParser.Parse(new NetworkPolicy()).Mode);
    }

    [Theory]
    [InlineData("example.org", "example.org", PolicyEntryKind.Host, 1, 65535)]
    [InlineData("Example.ORG.", "example.org", PolicyEntryKind.Host, 1, 65535)]
    [InlineData("example.org:443", "example.org:443", PolicyEntryKind.Host, 443, 443)]
    [InlineData("example.org:8000-8100", "example.org:8000-8100", PolicyEntryKind.Host, 8000, 8100)]
    [InlineData("_dmarc.example.org", "_dmarc.example.org", PolicyEntryKind.Host, 1, 65535)]
    [InlineData("*.Example.org:443", "*.example.org:443", PolicyEntryKind.Glob, 443, 443)]
    [InlineData("bücher.example", "xn--bcher-kva.example", PolicyEntryKind.Host, 1, 65535)]
    [InlineData("*.bücher.example", "*.xn--bcher-kva.example", PolicyEntryKind.Glob, 1, 65535)]
    [InlineData("192.0.2.7", "192.0.2.7", PolicyEntryKind.Address, 1, 65535)]
    [InlineData("192.0.2.7:22", "192.0.2.7:22", PolicyEntryKind.Address, 22, 22)]
    [InlineData("10.0.0.0/8", "10.0.0.0/8", PolicyEntryKind.Address, 1, 65535)]
    [InlineData("10.0.0.0/8:5432", "10.0.0.0/8:5432", PolicyEntryKind.Address, 5432, 5432)]
    [InlineData("2001:DB8::7", "2001:db8::7", PolicyEntryKind.Address, 1, 65535)]
    [InlineData("[2001:db8::7]:443", "[2001:db8::7]:443", PolicyEntryKind.Address, 443, 443)]
    [InlineData("2001:db8::/32", "2001:db8::/32", PolicyEntryKind.Address, 1, 65535)]
    [InlineData("[2001:db8::/32]:1-1024", "[2001:db8::/32]:1-1024", PolicyEntryKind.Address, 1, 1024)]
    [InlineData("net:test", "net:test", PolicyEntryKind.OpenNetwork, 1, 65535)]
    [InlineData("net:test:8080", "net:test:8080", PolicyEntryKind.OpenNetwork, 8080, 8080)]
    public void Entry_IsNormalized(string text, string normalized, PolicyEntryKind kind, int low, int high)
    {
        var entry = Assert.Single(Allow(text).Allow);
        Assert.Equal((normalized, kind, low, high), (entry.Text, entry.Kind, entry.LowPort, entry.HighPort));
    }

    [Theory]
    [InlineData("a.*.example.org", "'*' may only be the whole leftmost label")]
    [InlineData("*example.org", "'*' may only be the whole leftmost label")]
    [InlineData("foo*.example.org", "'*' may only be the whole leftmost label")]
    [InlineData("*.*.example.org", "'*' may only be the whole leftmost label")]
    [InlineData("*", "use mode 'public'")]
    [InlineData("example..org", "empty label")]
    [InlineData(".example.org", "empty label")]
    [InlineData("example.org..", "empty label")]
    [InlineData(".", "only a dot")]
    [InlineData("-bad.example.org", "starts or ends with '-'")]
    [InlineData("ex ample.org", "spaces")]
    [InlineData("exa$mple.org", "'$' is not a letter")]
    [InlineData("example.org:0", "not a number 1-65535")]
    [InlineData("example.org:65536", "not a number 1-65535")]
    [InlineData("example.org:-1", "not a number 1-65535")]
    [InlineData("example.org:443-80", "runs backwards; write 80-443")]
    [InlineData("example.org:", "ends with ':' but no port")]
    [InlineData("example.org:http", "not a number 1-65535")]
    [InlineData("10.0.0.1/8", "did you mean 10.0.0.0/8?")]
    [InlineData("10.0.0.0/33", "prefix length that is not 0-32")]
    [InlineData("2001:db8::/129", "prefix length that is not 0-128")]
    [InlineData("256.1.2.3", "is not an IP address")]
    [InlineData("010.1.2.3", "is not an IP address")]
    [InlineData("127.1", "is not an IP address")]
    [InlineData("2130706433", "is not an IP address")]
    [InlineData("0x7f.1", "read by the C library as the address 127.0.0.1")]
    [InlineData("0x7f000001", "read by the C library as the address 127.0.0.1")]
    [InlineData("example.123", "last label is all digits")]
    [InlineData("fe80::1%eth0", "no zone")]
    [InlineData("::ffff:10.0.0.1", "write the IPv4 address 10.0.0.1")]
    [InlineData("[example.org]:443", "brackets are for IPv6")]
    [InlineData("[2001:db8::1", "without a closing ']'")]
    [InlineData("net:Bad Name", "spaces")]
    [InlineData("net:Test", "network name is 1-63")]
    public void BadEntry_IsRefused_NamingTheFieldAndTheProblem(string text, string problem)
    {
        var e = Refused(new NetworkPolicy(NetworkModes.Allowlist, ["ok.example.org", text]));
        Assert.Contains("network.allow[1]", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain("allow[0]", e.Message);
    }

    [Fact]
    public void TooLongAName_IsRefused()
    {
        var label = new string('a', 63);
        Assert.Contains("longer than 63", Refused(new NetworkPolicy(NetworkModes.Allowlist, [new string('a', 64) + ".org"])).Message);
        Assert.Contains("at most 253", Refused(new NetworkPolicy(NetworkModes.Allowlist, [$"{label}.{label}.{label}.{label}.org"])).Message);
    }

    [Fact]
    public void EveryProblem_IsReported_AtOnce()
    {
        var e = Refused(new NetworkPolicy("allowlist", ["a..b", "ok.org", "x.org:0"], ["net:test", null!]));
        Assert.Contains("network.allow[0]", e.Message);
        Assert.Contains("network.allow[2]", e.Message);
        Assert.Contains("network.deny[0]: 'net:test': net: entries only open networks", e.Message);
        Assert.Contains("network.deny[1]: is null", e.Message);
    }

    [Fact]
    public void Lists_AreCapped()
    {
        var many = Enumerable.Range(0, NetworkPolicyParser.MaxEntries).Select(i => $"h{i}.example.org").ToArray();
        Assert.Equal(NetworkPolicyParser.MaxEntries, Allow(many).Allow.Count);
        var e = Refused(new NetworkPolicy(NetworkModes.Allowlist, [.. many, "one-more.org"]));
        Assert.Contains($"network.allow: {NetworkPolicyParser.MaxEntries + 1} entries; at most {NetworkPolicyParser.MaxEntries}", e.Message);
        Assert.Contains("network.deny: 257", Refused(new NetworkPolicy(NetworkModes.Public, Deny: [.. many, "x.org"])).Message);
    }

    [Theory]
    [InlineData("allowlist", null, null, "network.allow: mode 'allowlist' needs at least one entry")]
    [InlineData("Allowlist", new[] { "a.org" }, null, "network.mode: 'Allowlist' is not a mode")]
    [InlineData("open", null, null, "network.mode: 'open' is not a mode")]
    [InlineData("none", new[] { "a.org" }, null, "network.mode: 'none' lets nothing out")]
    [InlineData("none", null, "package-registries", "network.mode: 'none' lets nothing out")]
    [InlineData("allowlist", null, "pypi", "network.preset: 'pypi' is not a preset")]
    public void BadPolicy_IsRefused(string mode, string[]? allow, string? preset, string problem) =>
        Assert.Contains(problem, Refused(new NetworkPolicy(mode, allow, Preset: preset)).Message);

    [Fact]
    public void Allowlist_WithOnlyAPreset_IsAccepted_AndPublic_TakesAllowAndDeny()
    {
        Assert.Equal(NetworkPresets.PackageRegistries, NetworkPolicyParser.Parse(new NetworkPolicy(NetworkModes.Allowlist, Preset: "package-registries")).Preset);
        var p = NetworkPolicyParser.Parse(new NetworkPolicy(NetworkModes.Public, ["net:test"], ["*.evil.example"]));
        Assert.Equal((NetworkModes.Public, 1, 1), (p.Mode, p.Allow.Count, p.Deny.Count));
    }

    [Fact]
    public void Glob_CoversSubdomainsAtAnyDepth_ButNotTheApex()
    {
        var glob = Assert.Single(Allow("*.example.org").Allow);
        Assert.True(glob.MatchesName("a.example.org"));
        Assert.True(glob.MatchesName("a.b.example.org"));
        Assert.False(glob.MatchesName("example.org"));
        Assert.False(glob.MatchesName("badexample.org"));
        Assert.False(glob.MatchesName("example.org.evil.com"));
    }

    [Fact]
    public void Cidr_CoversItsAddresses()
    {
        var entry = Assert.Single(Allow("10.1.0.0/16").Allow);
        Assert.True(entry.MatchesAddress(IPAddress.Parse("10.1.200.3")));
        Assert.False(entry.MatchesAddress(IPAddress.Parse("10.2.0.1")));
        // .NET's IPNetwork reads an IPv4-mapped address as its IPv4: the same host either way.
        Assert.True(entry.MatchesAddress(IPAddress.Parse("::ffff:10.1.0.1")));
    }
}
