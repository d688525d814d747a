using System.Net;
using Hutch.Daemon.Network.Dns;

namespace Hutch.Tests.Daemon.Network.Dns;

/// <summary>The operator's overrides (HUTCH_EGRESS_HOSTS_FILE) in /etc/hosts format.</summary>
[Trait("Category", "Unit")]
public sealed class HostsFileTests
{
    private const string Text = """
        # mirrors
        10.213.77.2   pkgs.example.org  Mirror.Example.ORG.   # trailing comment
        2001:db8::2	pkgs.example.org
        10.213.77.3 pkgs.example.org
        not-an-address  broken.example.org
        0x7f.1 hex.example.org
        fe80::1%eth0 zoned.example.org
        10.0.0.9 127.1 ok.example.org
        10.0.0.10
        010.0.0.11 octal.example.org
        """;

    [Fact]
    public void Names_GetEveryListedAddress_InFileOrder_Normalized()
    {
        var hosts = HostsFile.Parse(Text);

        Assert.Equal([IPAddress.Parse("10.213.77.2"), IPAddress.Parse("2001:db8::2"), IPAddress.Parse("10.213.77.3")], hosts.Lookup("pkgs.example.org"));
        Assert.Equal([IPAddress.Parse("10.213.77.2")], hosts.Lookup("mirror.example.org"));
        Assert.Equal([IPAddress.Parse("10.0.0.9")], hosts.Lookup("ok.example.org"));
        Assert.Null(hosts.Lookup("other.example.org"));
    }

    [Fact]
    public void BadLines_AreSkipped_AndSaid()
    {
        var hosts = HostsFile.Parse(Text);

        Assert.Null(hosts.Lookup("broken.example.org"));
        Assert.Null(hosts.Lookup("hex.example.org"));
        Assert.Null(hosts.Lookup("zoned.example.org"));
        Assert.Null(hosts.Lookup("octal.example.org"));
        Assert.Equal(3, hosts.Count);
        Assert.Collection(hosts.Problems,
            p => Assert.StartsWith("line 5:", p),
            p => Assert.StartsWith("line 6:", p),
            p => Assert.StartsWith("line 7:", p),
            p => Assert.Contains("line 8: the name '127.1' is read by the C library as the address", p),
            p => Assert.StartsWith("line 9:", p),
            p => Assert.StartsWith("line 10:", p));
    }

    [Fact]
    public async Task Before_AnswersListedNames_AndAsksTheNextLookupForTheRest()
    {
        var asked = new List<string>();
        var lookup = HostsFile.Parse(Text).Before((name, _) =>
        {
            asked.Add(name);
            return Task.FromResult(new[] { IPAddress.Parse("93.184.215.14") });
        });

        Assert.Equal(IPAddress.Parse("10.213.77.2"), (await lookup("pkgs.example.org", default))[0]);
        Assert.Equal(IPAddress.Parse("93.184.215.14"), (await lookup("other.example.org", default))[0]);
        Assert.Equal(["other.example.org"], asked);
    }

    [Fact]
    public void AFileThatCannotBeRead_NamesTheSetting()
    {
        var e = Assert.Throws<IOException>(() => new HostsFile("/nonexistent/hutch-hosts"));
        Assert.Contains("HUTCH_EGRESS_HOSTS_FILE", e.Message);
        Assert.Contains("/nonexistent/hutch-hosts", e.Message);
    }
}
