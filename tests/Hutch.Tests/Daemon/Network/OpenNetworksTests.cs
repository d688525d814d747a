using System.Net;
using Hutch.Daemon.Network;

namespace Hutch.Tests.Daemon.Network;

/// <summary>HUTCH_EGRESS_OPEN_NETWORKS: read exactly, and a typo stops the daemon instead of opening or closing the wrong thing.</summary>
[Trait("Category", "Unit")]
public sealed class OpenNetworksTests
{
    [Fact]
    public void NamesAndTheirCidrs_AreRead()
    {
        var networks = OpenNetworks.Parse(" build = 10.20.0.0/16, fd00:20::/48 ; test=10.213.0.0/16 ");

        Assert.Equal([IPNetwork.Parse("10.20.0.0/16"), IPNetwork.Parse("fd00:20::/48")], networks["build"]);
        Assert.Equal([IPNetwork.Parse("10.213.0.0/16")], networks["test"]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void NothingSet_OpensNothing(string? text) => Assert.Empty(OpenNetworks.Parse(text));

    [Theory]
    [InlineData("10.0.0.0/8")]            // no name
    [InlineData("=10.0.0.0/8")]
    [InlineData("build=")]
    [InlineData("build=10.0.0.0")]        // not a CIDR
    [InlineData("build=10.0.0.0/33")]
    [InlineData("bu ild=10.0.0.0/8")]
    [InlineData("build=10.0.0.0/8,nope")]
    public void AMalformedValue_StopsTheDaemon_NamingIt(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => OpenNetworks.Parse(text));
        Assert.Contains("HUTCH_EGRESS_OPEN_NETWORKS", e.Message, StringComparison.Ordinal);
    }
}
