using System.Net;
using System.Net.Sockets;
using System.Text;
using Hutch.Daemon.Network;
using Hutch.Daemon.Network.Dns;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Daemon.Network.Dns;

/// <summary>
/// The resolver's decisions (docs/design/0009-egress.md, section 3) with a fake host lookup that
/// records every name it is asked: nothing here sends a query anywhere.
/// </summary>
[Trait("Category", "Unit")]
public sealed class DnsResolverTests
{
    private static readonly IPAddress Public = IPAddress.Parse("93.184.215.14");
    private readonly List<string> _asked = [];
    private readonly SyntheticNames _names = new();
    private Func<string, IPAddress[]> _upstream = _ => [Public];

    private DnsResolver Resolver(string mode, string[]? allow = null, string[]? deny = null, HostsFile? hosts = null)
    {
        var matcher = new PolicyMatcher(NetworkPolicyParser.Parse(new NetworkPolicy(mode, allow, deny)));
        var ranges = new RefusedRanges(HostAddresses.Empty, null);
        return new DnsResolver(() => matcher, () => ranges, _names, (name, _) =>
        {
            _asked.Add(name);
            return Task.FromResult(_upstream(name));
        }, hosts);
    }

    private static async Task<DnsResult> Ask(DnsResolver resolver, string name, ushort type, ushort? udpSize = 1232) =>
        await resolver.ResolveAsync(DnsWire.Query(0x4242, name, type, udpSize), default);

    private static int Rcode(DnsResult r) => DnsWire.U16(r.Response!, 2) & 0xF;

    private static int Answers(DnsResult r) => DnsWire.U16(r.Response!, 6);

    private static string Text(DnsResult r) => Encoding.UTF8.GetString(r.Response!);

    [Fact]
    public async Task AnAllowedName_IsAnsweredWithItsSyntheticAddresses_InBothFamilies()
    {
        var resolver = Resolver("allowlist", ["pkgs.example.org:443"]);

        var a = await Ask(resolver, "PKGS.example.org.", DnsMessage.TypeA);
        var aaaa = await Ask(resolver, "pkgs.example.org", DnsMessage.TypeAaaa);

        Assert.Equal((0, 1), (Rcode(a), Answers(a)));
        Assert.Equal(new byte[] { 198, 18, 1, 0 }, a.Response![^15..^11]); // the rdata, before the OPT record
        Assert.Equal(IPAddress.Parse("fd68:7574:6368:1::").GetAddressBytes(), aaaa.Response![^27..^11]);
        Assert.Equal(new DnsDecision("pkgs.example.org", "A", DnsOutcomes.Answered, null, null, a.Decision!.Message), a.Decision);
        Assert.Contains("198.18.1.0", a.Decision.Message);
        Assert.Equal(["pkgs.example.org", "pkgs.example.org"], _asked);
        Assert.Equal("pkgs.example.org", _names.NameOf(IPAddress.Parse("198.18.1.0")));
    }

    [Fact]
    public async Task ANameNotInTheAllowlist_IsNxDomainWithTheReason_AndNeverLookedUp()
    {
        var resolver = Resolver("allowlist", ["pkgs.example.org"]);

        foreach (var type in new ushort[] { DnsMessage.TypeA, DnsMessage.TypeAaaa, 16, DnsMessage.TypeHttps, 255 })
        {
            var r = await Ask(resolver, "evil.example.net", type);
            Assert.Equal(DnsMessage.NxDomain, Rcode(r));
            Assert.EndsWith("egress_dns_denied: evil.example.net is not in this sandbox's allowlist (add it to network.allow)", Text(r));
            Assert.Equal((DnsOutcomes.Refused, EgressCodes.DnsDenied), (r.Decision!.Outcome, r.Decision.Code));
        }
        Assert.Empty(_asked);
        Assert.Equal(0, _names.Count);
    }

    [Fact]
    public async Task AGlob_AllowsNamesBelowItsDomain_NotTheDomainItself()
    {
        var resolver = Resolver("allowlist", ["*.example.org:443"]);

        Assert.Equal(1, Answers(await Ask(resolver, "a.b.example.org", DnsMessage.TypeA)));
        Assert.Equal(DnsMessage.NxDomain, Rcode(await Ask(resolver, "example.org", DnsMessage.TypeA)));
        Assert.Equal(["a.b.example.org"], _asked);
    }

    [Fact]
    public async Task DenyEntries_OnEveryPort_RefuseTheName_ButAPortOnlyDenyDoesNot()
    {
        var resolver = Resolver("public", deny: ["*.tracker.example", "ssh.example.org:22"]);

        var denied = await Ask(resolver, "x.tracker.example", DnsMessage.TypeA);
        Assert.Equal(DnsMessage.NxDomain, Rcode(denied));
        Assert.Equal((EgressCodes.DnsDenied, "*.tracker.example"), (denied.Decision!.Code, denied.Decision.Rule));
        Assert.Contains("denied by network.deny entry '*.tracker.example'", Text(denied));
        Assert.Equal(1, Answers(await Ask(resolver, "ssh.example.org", DnsMessage.TypeA)));
        Assert.Equal(["ssh.example.org"], _asked);
    }

    [Fact]
    public async Task ModeNone_ResolvesNothing()
    {
        var r = await Ask(Resolver("none"), "example.org", DnsMessage.TypeA);

        Assert.Equal(DnsMessage.NxDomain, Rcode(r));
        Assert.Equal(EgressCodes.PolicyNone, r.Decision!.Code);
        Assert.Contains("egress_policy_none:", Text(r));
        Assert.Empty(_asked);
    }

    [Fact]
    public async Task ANameResolvingOnlyToRefusedAddresses_IsNxDomain_NamingThem_AndOneUsableAddressIsEnough()
    {
        var resolver = Resolver("public");
        _upstream = name => name == "internal.example.org"
            ? [IPAddress.Parse("10.1.2.3"), IPAddress.Parse("169.254.169.254"), IPAddress.Parse("::ffff:127.0.0.1")]
            : [IPAddress.Parse("10.1.2.3"), Public];

        var r = await Ask(resolver, "internal.example.org", DnsMessage.TypeA);
        Assert.Equal(DnsMessage.NxDomain, Rcode(r));
        Assert.Equal(EgressCodes.PrivateAddress, r.Decision!.Code);
        Assert.Contains("egress_private_address: internal.example.org resolves only to refused addresses: 10.1.2.3 is in 10.0.0.0/8", Text(r));
        Assert.Contains("169.254.169.254", r.Decision.Message);
        Assert.Equal(0, _names.Count);
        Assert.Equal(1, Answers(await Ask(resolver, "mixed.example.org", DnsMessage.TypeA)));
    }

    [Fact]
    public async Task AnAddressDenyEntry_AppliesToWhatANameResolvesTo()
    {
        var r = await Ask(Resolver("public", deny: ["93.184.0.0/16"]), "example.org", DnsMessage.TypeAaaa);

        Assert.Equal(DnsMessage.NxDomain, Rcode(r));
        Assert.Equal((EgressCodes.DeniedAddress, "93.184.0.0/16"), (r.Decision!.Code, r.Decision.Rule));
    }

    [Fact]
    public async Task OnlyAAndAaaaAreAnswered_HttpsAndSvcbGetNoData_OthersNoDataSayingWhy()
    {
        var resolver = Resolver("public");

        foreach (var type in new ushort[] { DnsMessage.TypeHttps, DnsMessage.TypeSvcb })
        {
            var r = await Ask(resolver, "example.org", type);
            Assert.Equal((0, 0), (Rcode(r), Answers(r)));
            Assert.Equal(0, DnsWire.U16(r.Response!, r.Response!.Length - 2)); // an OPT record with no option
            Assert.Equal(DnsOutcomes.NoData, r.Decision!.Outcome);
        }
        foreach (var type in new ushort[] { 16, 10, 15, 33, 255 }) // TXT, NULL, MX, SRV, ANY
        {
            var r = await Ask(resolver, "t.example.org", type);
            Assert.Equal((0, 0), (Rcode(r), Answers(r)));
            Assert.EndsWith("only A and AAAA", Text(r));
            Assert.Equal((DnsOutcomes.Refused, EgressCodes.DnsDenied), (r.Decision!.Outcome, r.Decision.Code));
        }
        Assert.Empty(_asked);
    }

    [Fact]
    public async Task NamesThatAreNoHostNames_AreRefusedUnasked()
    {
        var resolver = Resolver("public");

        Assert.Equal(DnsMessage.NxDomain, Rcode(await Ask(resolver, "127.1", DnsMessage.TypeA)));
        Assert.Equal(DnsMessage.NxDomain, Rcode(await Ask(resolver, "2130706433", DnsMessage.TypeA)));
        Assert.Empty(_asked);
    }

    [Fact]
    public async Task TheHostsFile_IsAskedFirst()
    {
        var resolver = Resolver("public", hosts: HostsFile.Parse("93.184.215.99 pkgs.example.org\n10.0.0.1 private.example.org\n"));

        Assert.Equal(1, Answers(await Ask(resolver, "pkgs.example.org", DnsMessage.TypeA)));
        Assert.Equal(EgressCodes.PrivateAddress, (await Ask(resolver, "private.example.org", DnsMessage.TypeA)).Decision!.Code);
        Assert.Empty(_asked);
    }

    [Fact]
    public async Task UpstreamFailures_AreNxDomainForNoSuchName_AndServFailForTheRest()
    {
        var resolver = Resolver("public");
        _upstream = name => throw new SocketException((int)(name.StartsWith("gone") ? SocketError.HostNotFound : SocketError.TryAgain));

        var gone = await Ask(resolver, "gone.example.org", DnsMessage.TypeA);
        var flaky = await Ask(resolver, "flaky.example.org", DnsMessage.TypeA);

        Assert.Equal((DnsMessage.NxDomain, DnsOutcomes.NotFound), (Rcode(gone), gone.Decision!.Outcome));
        Assert.Equal((DnsMessage.ServFail, DnsOutcomes.Failed), (Rcode(flaky), flaky.Decision!.Outcome));
        Assert.Equal(0, _names.Count);
    }

    [Fact]
    public async Task MalformedQueries_GetFormErr_OtherClassesRefused_ResponsesNothing()
    {
        var resolver = Resolver("public");

        var junk = await resolver.ResolveAsync(DnsWire.Message(9, 0x0100, 2, [], []), default);
        Assert.Equal((DnsMessage.FormErr, DnsOutcomes.Malformed), (Rcode(junk), junk.Decision!.Outcome));
        var chaos = await resolver.ResolveAsync(DnsWire.Query(9, "version.bind", 16, udpSize: null, @class: 3), default);
        Assert.Equal(DnsMessage.Refused, Rcode(chaos));
        Assert.Equal(new DnsResult(null, null), await resolver.ResolveAsync(DnsWire.Message(9, 0x8180, 1, DnsWire.Question("a.org", 1), []), default));
        Assert.Empty(_asked);
    }

    [Fact]
    public async Task PastTheSandboxesNameLimit_NewNamesAreRefused()
    {
        for (var i = 0; i < SyntheticNames.MaxNames; i++)
        {
            _names.Allocate($"n{i}.example.org");
        }

        var r = await Ask(Resolver("public"), "one-more.example.org", DnsMessage.TypeA);

        Assert.Equal(DnsMessage.NxDomain, Rcode(r));
        Assert.Equal(EgressCodes.DnsLimit, r.Decision!.Code);
        Assert.Equal(1, Answers(await Ask(Resolver("public"), "n7.example.org", DnsMessage.TypeA)));
    }
}
