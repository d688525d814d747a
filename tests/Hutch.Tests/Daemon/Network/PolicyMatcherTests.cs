using System.Net;
using Hutch.Daemon.Network;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Daemon.Network;

/// <summary>The policy decision of docs/design/0009 section 3 step 2: deny wins, then allow by name or address and port.</summary>
[Trait("Category", "Unit")]
public sealed class PolicyMatcherTests
{
    private static readonly Dictionary<string, IPNetwork[]> OpenNetworks = new() { ["test"] = [IPNetwork.Parse("10.213.0.0/16")] };

    private static PolicyMatcher Matcher(string mode, string[]? allow = null, string[]? deny = null) =>
        new(NetworkPolicyParser.Parse(new NetworkPolicy(mode, allow, deny)), OpenNetworks);

    private static EgressDecision Name(PolicyMatcher m, string host, int port) => m.Decide(host, null, port);

    private static EgressDecision Address(PolicyMatcher m, string address, int port) => m.Decide(null, IPAddress.Parse(address), port);

    [Fact]
    public void None_RefusesEverything()
    {
        var m = new PolicyMatcher(ParsedNetworkPolicy.None);
        foreach (var d in new[] { Name(m, "example.org", 443), Address(m, "93.184.215.14", 443) })
        {
            Assert.Equal((false, EgressCodes.PolicyNone, null), (d.Allowed, d.Code, d.Rule));
            Assert.Contains("network.mode", d.Message);
        }
    }

    [Fact]
    public void Allowlist_AllowsNamedHostOnItsPorts_AndSaysWhichRule()
    {
        var m = Matcher("allowlist", ["pkgs.example.org:443", "*.cdn.example.org:80-443"]);
        Assert.Equal((true, null, "pkgs.example.org:443"), Dec(Name(m, "pkgs.example.org", 443)));
        Assert.Equal((true, null, "*.cdn.example.org:80-443"), Dec(Name(m, "a.b.cdn.example.org", 80)));
        Assert.Equal((false, EgressCodes.Port, "pkgs.example.org:443"), Dec(Name(m, "pkgs.example.org", 22)));
        Assert.Equal((false, EgressCodes.DeniedHost, null), Dec(Name(m, "cdn.example.org", 443)));
        Assert.Equal((false, EgressCodes.DeniedHost, null), Dec(Name(m, "other.org", 443)));
        Assert.Contains("add other.org:443 to network.allow", Name(m, "other.org", 443).Message);
    }

    [Fact]
    public void PortMismatch_IsReported_OnlyWhenNoEntryCoversThePort()
    {
        var m = Matcher("allowlist", ["api.example.org:80", "api.example.org:443"]);
        Assert.True(Name(m, "api.example.org", 443).Allowed);
        Assert.Equal(EgressCodes.Port, Name(m, "api.example.org", 8080).Code);
    }

    [Fact]
    public void LiteralAddress_PassesOnlyWithAnAddressEntry_NeverThroughAName()
    {
        var m = Matcher("allowlist", ["example.org", "203.0.113.0/24:443", "[2001:db8::/32]:443"]);
        Assert.Equal((true, null, "203.0.113.0/24:443"), Dec(Address(m, "203.0.113.9", 443)));
        Assert.Equal((true, null, "203.0.113.0/24:443"), Dec(Address(m, "::ffff:203.0.113.9", 443)));
        Assert.Equal((true, null, "[2001:db8::/32]:443"), Dec(Address(m, "2001:db8::5", 443)));
        Assert.Equal((false, EgressCodes.Port, "203.0.113.0/24:443"), Dec(Address(m, "203.0.113.9", 80)));
        Assert.Equal((false, EgressCodes.DeniedAddress, null), Dec(Address(m, "198.51.100.1", 443)));
        // A name entry never lets a bare address through, and an address entry never lets a name through.
        Assert.Equal(EgressCodes.DeniedHost, Name(m, "203.0.113.9.nip.example", 443).Code);
    }

    [Fact]
    public void DenyWins_OverAllowAndPublic_ForNamesAndAddresses()
    {
        foreach (var mode in new[] { "allowlist", "public" })
        {
            var m = Matcher(mode, ["*.example.org", "10.213.0.0/16"], ["secret.example.org", "10.213.9.0/24", "*.example.org:25"]);
            Assert.Equal((false, EgressCodes.DeniedHost, "secret.example.org"), Dec(Name(m, "secret.example.org", 443)));
            Assert.Equal((false, EgressCodes.DeniedHost, "*.example.org:25"), Dec(Name(m, "mail.example.org", 25)));
            Assert.Equal((false, EgressCodes.DeniedAddress, "10.213.9.0/24"), Dec(Address(m, "10.213.9.4", 443)));
            Assert.True(Name(m, "www.example.org", 443).Allowed);
            Assert.True(Address(m, "10.213.8.4", 443).Allowed);
        }
    }

    [Fact]
    public void ANameResolvingIntoADeniedCidr_IsRefused_ButAllowIsByNameOnly()
    {
        var m = Matcher("allowlist", ["api.example.org"], ["203.0.113.0/24"]);
        Assert.Equal((false, EgressCodes.DeniedAddress, "203.0.113.0/24"), Dec(m.Decide("api.example.org", IPAddress.Parse("203.0.113.9"), 443)));
        Assert.True(m.Decide("api.example.org", IPAddress.Parse("198.51.100.9"), 443).Allowed);
        Assert.Equal(EgressCodes.DeniedHost, m.Decide("other.example.org", IPAddress.Parse("198.51.100.9"), 443).Code);
    }

    [Fact]
    public void Public_AllowsEveryNameAndAddress_LeavingRangesToRefusedRanges()
    {
        var m = Matcher("public");
        Assert.Equal((true, null, "public"), Dec(Name(m, "anything.example", 1)));
        Assert.Equal((true, null, "public"), Dec(Address(m, "8.8.8.8", 53)));
        Assert.Empty(m.Opened);
    }

    [Fact]
    public void OpenNetwork_AllowsItsAddresses_AndIsReportedAsOpened()
    {
        var m = Matcher("allowlist", ["net:test:8080", "net:unknown"]);
        Assert.Equal((true, null, "net:test:8080"), Dec(Address(m, "10.213.77.2", 8080)));
        Assert.Equal((false, EgressCodes.Port, "net:test:8080"), Dec(Address(m, "10.213.77.2", 22)));
        Assert.Equal(EgressCodes.DeniedAddress, Address(m, "10.214.0.1", 8080).Code);
        Assert.Equal([IPNetwork.Parse("10.213.0.0/16")], m.Opened);
    }

    [Fact]
    public void ADestination_NeedsANameOrAnAddress() =>
        Assert.Throws<ArgumentException>(() => Matcher("public").Decide(null, null, 443));

    private static (bool, string?, string?) Dec(EgressDecision d) => (d.Allowed, d.Code, d.Rule);
}
